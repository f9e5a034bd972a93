// The e2e workspace's TypeScript files and the spots where the content cases type, plus the two
// generated files: a 3,000+ line module (the prompt must be fitted near its end) and a module
// with a 200-line function (Explain Selection). No `vscode`, no browser: the spot probe
// (probeSpots.ts) replays the same spots through the completion pipeline in-process.

/** A small order-handling module: types, loops, early returns. */
export const CART = `// Shopping cart: line items, discounts and totals.
export interface LineItem {
  sku: string;
  name: string;
  price: number;
  quantity: number;
}

export interface Discount {
  code: string;
  percent: number;
}

export function subtotal(items: LineItem[]): number {
  let sum = 0;
  for (const item of items) {
    sum += item.price * item.quantity;
  }
  return sum;
}

export function itemCount(items: LineItem[]): number {
  let count = 0;
  for (const item of items) {
    count += item.quantity;
  }
  return count;
}

export function applyDiscount(amount: number, discount?: Discount): number {
  if (!discount) {
    return amount;
  }
  return amount * (1 - discount.percent / 100);
}

export function cartTotal(items: LineItem[], discount?: Discount): number {
  const sum = subtotal(items);
  return applyDiscount(sum, discount);
}
`;

/** A user store: a class with a Map, lookups, optional results. */
export const USERS = `// In-memory user store.
export interface User {
  id: number;
  name: string;
  email: string;
  active: boolean;
}

export class UserStore {
  private readonly users = new Map<number, User>();
  private nextId = 1;

  add(name: string, email: string): User {
    const user: User = { id: this.nextId++, name, email, active: true };
    this.users.set(user.id, user);
    return user;
  }

  get(id: number): User | undefined {
    return this.users.get(id);
  }

  remove(id: number): boolean {
    return this.users.delete(id);
  }

  findByEmail(email: string): User | undefined {
    for (const user of this.users.values()) {
      if (user.email === email) {
        return user;
      }
    }
    return undefined;
  }

  activeUsers(): User[] {
    const result: User[] = [];
    for (const user of this.users.values()) {
      if (user.active) {
        result.push(user);
      }
    }
    return result;
  }
}
`;

/** String helpers: small pure functions. */
export const TEXT = `// String helpers.
export function capitalize(text: string): string {
  if (text.length === 0) {
    return text;
  }
  return text[0].toUpperCase() + text.slice(1);
}

export function truncate(text: string, max: number): string {
  if (text.length <= max) {
    return text;
  }
  return text.slice(0, max - 1) + '…';
}

export function words(text: string): string[] {
  return text.split(/\\s+/).filter((w) => w.length > 0);
}

export function isBlank(text: string): boolean {
  return text.trim().length === 0;
}
`;

/**
 * Where a content case types: the cursor goes to the end of the line `after` (its first line
 * that contains the text), Enter opens a new line there (the editor indents it), and `typed` is
 * typed key by key. A spot names a file of CONTENT_FILES.
 */
export interface Spot {
  name: string;
  file: string;
  after: string;
  typed: string;
  /** Extra checks of the accepted text (besides "parses, does not repeat, first Tab accepts"). */
  expect?: 'one-line';
}

/**
 * The spots of the content cases, chosen by probing (test/e2e/probeSpots.ts and runs in
 * code-server) where the default model shows a suggestion that passes its quality gate.
 */
export const SPOTS: Spot[] = [];

export const CONTENT_FILES: Record<string, string> = {
  'src/cart.ts': CART,
  'src/users.ts': USERS,
  'src/text.ts': TEXT,
};

/** 1-based line number of the first line of `text` that contains `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`no line contains ${JSON.stringify(needle)}`);
  return i + 1;
}

// --- generated files ------------------------------------------------------------------------

const NOUNS = [
  'account',
  'invoice',
  'order',
  'payment',
  'shipment',
  'customer',
  'product',
  'ticket',
  'session',
  'report',
  'message',
  'device',
  'project',
  'task',
  'review',
  'coupon',
];
const FIELDS = ['id', 'name', 'status', 'createdAt', 'updatedAt', 'owner', 'total', 'notes'];

const pascal = (s: string) => s[0]?.toUpperCase() + s.slice(1);

/** One entity's block of a generated module: an interface, a parser, a validator, a repository. */
function entityBlock(noun: string, n: number): string {
  const T = `${pascal(noun)}${n}`;
  const fields = FIELDS.map((f, i) => {
    const type = f === 'total' ? 'number' : f.endsWith('At') ? 'Date' : 'string';
    return { f, type, optional: i > 4 };
  });
  const iface = [
    `export interface ${T} {`,
    ...fields.map(({ f, type, optional }) => `  ${f}${optional ? '?' : ''}: ${type};`),
    `}`,
  ];
  const parse = [
    `export function parse${T}(raw: Record<string, unknown>): ${T} {`,
    `  const id = String(raw.id ?? '');`,
    `  if (id === '') {`,
    `    throw new Error('${noun} ${n}: missing id');`,
    `  }`,
    `  return {`,
    `    id,`,
    `    name: String(raw.name ?? 'unnamed ${noun}'),`,
    `    status: String(raw.status ?? 'new'),`,
    `    createdAt: new Date(String(raw.createdAt ?? 0)),`,
    `    updatedAt: new Date(String(raw.updatedAt ?? 0)),`,
    `    owner: raw.owner === undefined ? undefined : String(raw.owner),`,
    `    total: Number(raw.total ?? 0),`,
    `    notes: raw.notes === undefined ? undefined : String(raw.notes),`,
    `  };`,
    `}`,
  ];
  const validate = [
    `export function validate${T}(value: ${T}): string[] {`,
    `  const errors: string[] = [];`,
    `  if (value.name.trim() === '') {`,
    `    errors.push('name is empty');`,
    `  }`,
    `  if (value.updatedAt < value.createdAt) {`,
    `    errors.push('updated before created');`,
    `  }`,
    `  if (value.total !== undefined && value.total < 0) {`,
    `    errors.push('negative total');`,
    `  }`,
    `  return errors;`,
    `}`,
  ];
  const repo = [
    `export class ${T}Repository {`,
    `  private readonly items = new Map<string, ${T}>();`,
    ``,
    `  save(value: ${T}): void {`,
    `    this.items.set(value.id, value);`,
    `  }`,
    ``,
    `  find(id: string): ${T} | undefined {`,
    `    return this.items.get(id);`,
    `  }`,
    ``,
    `  byStatus(status: string): ${T}[] {`,
    `    return [...this.items.values()].filter((v) => v.status === status);`,
    `  }`,
    ``,
    `  count(): number {`,
    `    return this.items.size;`,
    `  }`,
    `}`,
  ];
  return [`// ${T}: ${noun} records.`, ...iface, '', ...parse, '', ...validate, '', ...repo, ''].join(
    '\n',
  );
}

/**
 * A module of `minLines`+ lines of real-looking code (entity blocks of about 60 lines each),
 * ending with the same small helpers as CART, so a spot near its end has familiar code above it.
 */
export function longModule(minLines = 3200): string {
  const blocks: string[] = ['// Generated domain model: records, parsers, validators, repositories.', ''];
  let lines = 2;
  for (let n = 0; lines < minLines; n++) {
    const block = entityBlock(NOUNS[n % NOUNS.length] ?? 'item', n);
    blocks.push(block);
    lines += block.split('\n').length;
  }
  blocks.push(CART);
  return blocks.join('\n');
}

/**
 * A module with one function of exactly `lines` lines (signature to closing brace): a
 * configuration normaliser with one statement per option, as such functions grow in real code.
 */
export function longFunctionModule(lines = 200): { text: string; startLine: number; endLine: number } {
  const head = [
    '// Options normalisation.',
    'export interface Options {',
    '  [key: string]: string | number | boolean | undefined;',
    '}',
    '',
  ];
  const body: string[] = [];
  const kinds = ['number', 'string', 'boolean'] as const;
  for (let i = 0; body.length < lines - 4; i++) {
    const name = `${FIELDS[i % FIELDS.length]}${Math.floor(i / FIELDS.length)}`;
    const kind = kinds[i % kinds.length];
    if (kind === 'number') {
      body.push(`  out.${name} = Number(input.${name} ?? ${i});`);
    } else if (kind === 'string') {
      body.push(`  out.${name} = String(input.${name} ?? '${name}').trim();`);
    } else {
      body.push(`  out.${name} = input.${name} === undefined ? ${i % 2 === 0} : Boolean(input.${name});`);
    }
  }
  const fn = [
    'export function normalizeOptions(input: Options): Options {',
    '  const out: Options = {};',
    ...body.slice(0, lines - 4),
    '  return out;',
    '}',
  ];
  const text = [...head, ...fn, ''].join('\n');
  return { text, startLine: head.length + 1, endLine: head.length + fn.length };
}
