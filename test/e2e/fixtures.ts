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

/** Numeric helpers: the small functions every code base has. */
export const MATH = `// Numeric helpers.
export function clamp(value: number, min: number, max: number): number {
  if (value < min) {
    return min;
  }
  if (value > max) {
    return max;
  }
  return value;
}

export function sum(values: number[]): number {
  let total = 0;
  for (const value of values) {
    total += value;
  }
  return total;
}

export function mean(values: number[]): number {
  if (values.length === 0) {
    return 0;
  }
  return sum(values) / values.length;
}

export function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}
`;

/**
 * Where a content case types: the cursor goes to the end of the line `after` names (the first
 * line containing its first line; when `after` has more lines, the last of them), Enter opens a
 * new line there (the editor indents it), and `typed` is typed key by key (`\n`: Enter). A spot
 * names a file of CONTENT_FILES (or the generated src/long.ts).
 */
export interface Spot {
  name: string;
  file: string;
  after: string;
  typed: string;
}

/**
 * The spots of the content cases: where the default model (models/moe-lens-code) shows a
 * suggestion that passes its quality gate whether the user types fast or slowly (probeSpots.ts
 * reports both; the shown text below is what it found, "slow" / "fast"). Each kind the issue names
 * is here except a call's `(`: after `f(` with the auto-closed `)` the model is silent at every
 * place tried (CANDIDATES). Nothing asserts the text itself; the cases check that it is accepted
 * by one Tab, repeats nothing typed and parses.
 */
export const SPOTS: Spot[] = [
  // "0;" / "- 1;"
  {
    name: 'assignment: const total = ',
    file: 'src/math.ts',
    after: 'export function mean(values: number[]): number {',
    typed: 'const total = ',
  },
  // "0;" / "((this.s.length - 1) - 1)"
  {
    name: 'return: return ',
    file: 'src/cart.ts',
    after: 'if (!discount) {',
    typed: 'return ',
  },
  // "return 0;" both ways (a new line in a block just opened, the `}` below the cursor)
  {
    name: 'block: if (sum === 0) { + Enter',
    file: 'src/cart.ts',
    after: 'const sum = subtotal(items);',
    typed: 'if (sum === 0) {\n',
  },
  // "return this.id.id;" both ways (a method body, in a class)
  {
    name: 'method body: size(): number { + Enter',
    file: 'src/users.ts',
    after: 'return this.users.delete(id);\n  }',
    typed: '\nsize(): number {\n',
  },
  // "r = text.slice(0, 0);" both ways (after a member access)
  {
    name: 'member: const trimmed = text.',
    file: 'src/text.ts',
    after: 'export function isBlank(text: string): boolean {',
    typed: 'const trimmed = text.',
  },
  // "- 1;" both ways (after a compound operator)
  {
    name: 'operator: sum += ',
    file: 'src/cart.ts',
    after: 'let sum = 0;',
    typed: 'sum += ',
  },
];

/**
 * More spots, tried by probeSpots.ts --all and by the e2e suite with MOE_LENS_E2E_SPOTS=all: a
 * candidate where the model shows a suggestion in both may become a spot.
 */
export const CANDIDATES: Spot[] = [
  {
    name: 'cart: const total',
    file: 'src/cart.ts',
    after: 'const sum = subtotal(items);',
    typed: 'const total = ',
  },
  {
    name: 'cart: return count',
    file: 'src/cart.ts',
    after: 'count += item.quantity;\n  }',
    typed: 'return ',
  },
  {
    name: 'cart: isEmpty block',
    file: 'src/cart.ts',
    after: 'return applyDiscount(sum, discount);\n}',
    typed: '\nexport function isEmpty(items: LineItem[]): boolean {\n',
  },
  {
    name: 'cart: call subtotal(',
    file: 'src/cart.ts',
    after: 'export function cartTotal',
    typed: 'const value = subtotal(',
  },
  {
    name: 'cart: member item.',
    file: 'src/cart.ts',
    after: 'for (const item of items) {',
    typed: 'const cost = item.',
  },
  {
    name: 'users: return this.',
    file: 'src/users.ts',
    after: 'get(id: number): User | undefined {',
    typed: 'return this.',
  },
  {
    name: 'users: count block',
    file: 'src/users.ts',
    after: 'return result;\n  }',
    typed: '\ncount(): number {\n',
  },
  {
    name: 'users: const user = ',
    file: 'src/users.ts',
    after: 'remove(id: number): boolean {',
    typed: 'const user = ',
  },
  {
    name: 'users: has block',
    file: 'src/users.ts',
    after: 'return this.users.delete(id);\n  }',
    typed: '\nhas(id: number): boolean {\n',
  },
  {
    name: 'text: shout block',
    file: 'src/text.ts',
    after:
      'export function isBlank(text: string): boolean {\n  return text.trim().length === 0;\n}',
    typed: '\nexport function shout(text: string): string {\n',
  },
  {
    name: 'text: const first = ',
    file: 'src/text.ts',
    after: 'export function capitalize(text: string): string {',
    typed: 'const first = ',
  },
  {
    name: 'text: wordCount block',
    file: 'src/text.ts',
    after: 'return text.split(/\\s+/).filter((w) => w.length > 0);\n}',
    typed: '\nexport function wordCount(text: string): number {\n',
  },
  {
    name: 'users: return this.users.',
    file: 'src/users.ts',
    after: 'remove(id: number): boolean {',
    typed: 'return this.users.',
  },
  {
    name: 'users: if (user.',
    file: 'src/users.ts',
    after: 'for (const user of this.users.values()) {',
    typed: 'if (user.',
  },
  {
    name: 'users: const users = ',
    file: 'src/users.ts',
    after: 'activeUsers(): User[] {',
    typed: 'const users = ',
  },
  {
    name: 'cart: if (!discount) body',
    file: 'src/cart.ts',
    after: 'return applyDiscount(sum, discount);\n}',
    typed:
      '\nexport function discounted(amount: number, discount?: Discount): number {\n  if (!discount) {\n',
  },
  {
    name: 'cart: let total = ',
    file: 'src/cart.ts',
    after: 'export function cartTotal',
    typed: 'let total = ',
  },
  {
    name: 'cart: return sum',
    file: 'src/cart.ts',
    after: 'sum += item.price * item.quantity;\n  }',
    typed: 'return ',
  },
  {
    name: 'cart: const price = item.',
    file: 'src/cart.ts',
    after: 'for (const item of items) {',
    typed: 'const price = item.',
  },
  {
    name: 'text: return text.',
    file: 'src/text.ts',
    after: 'export function isBlank(text: string): boolean {',
    typed: 'return text.',
  },
  {
    name: 'text: const trimmed = ',
    file: 'src/text.ts',
    after: 'export function isBlank(text: string): boolean {',
    typed: 'const trimmed = ',
  },
  {
    name: 'math: square body',
    file: 'src/math.ts',
    after: 'return a + (b - a) * t;\n}',
    typed: '\nexport function square(x: number): number {\n',
  },
  {
    name: 'math: max body',
    file: 'src/math.ts',
    after: 'return a + (b - a) * t;\n}',
    typed: '\nexport function max(a: number, b: number): number {\n',
  },
  {
    name: 'math: const count = ',
    file: 'src/math.ts',
    after: 'export function mean(values: number[]): number {',
    typed: 'const count = ',
  },
  {
    name: 'math: const total = sum(',
    file: 'src/math.ts',
    after: 'export function mean(values: number[]): number {',
    typed: 'const total = sum(',
  },
  {
    name: 'math: let result = ',
    file: 'src/math.ts',
    after: 'export function lerp(a: number, b: number, t: number): number {',
    typed: 'let result = ',
  },
  {
    name: 'math: return total',
    file: 'src/math.ts',
    after: 'total += value;\n  }',
    typed: 'return ',
  },
  {
    name: 'math: const n = values.',
    file: 'src/math.ts',
    after: 'export function mean(values: number[]): number {',
    typed: 'const n = values.',
  },
  {
    name: 'math: isZero body',
    file: 'src/math.ts',
    after: 'return a + (b - a) * t;\n}',
    typed: '\nexport function isZero(x: number): boolean {\n',
  },
  {
    name: 'math: if (values.length === 0) body',
    file: 'src/math.ts',
    after: 'export function sum(values: number[]): number {',
    typed: 'if (values.length === 0) {\n',
  },
  {
    name: 'cart: let count = ',
    file: 'src/cart.ts',
    after: 'export function cartTotal',
    typed: 'let count = ',
  },
  {
    name: 'cart: const discounted = applyDiscount(',
    file: 'src/cart.ts',
    after: 'const sum = subtotal(items);',
    typed: 'const discounted = applyDiscount(',
  },
  {
    name: 'cart: hasItems body',
    file: 'src/cart.ts',
    after: 'return applyDiscount(sum, discount);\n}',
    typed: '\nexport function hasItems(items: LineItem[]): boolean {\n',
  },
  {
    name: 'users: clear body',
    file: 'src/users.ts',
    after: 'return this.users.delete(id);\n  }',
    typed: '\nclear(): void {\n',
  },
  {
    name: 'users: const user = this.users.get(',
    file: 'src/users.ts',
    after: 'remove(id: number): boolean {',
    typed: 'const user = this.users.get(',
  },
  {
    name: 'users: if (!user) body',
    file: 'src/users.ts',
    after: 'remove(id: number): boolean {',
    typed: 'const user = this.get(id);\nif (!user) {\n',
  },
  {
    name: 'users: let count = ',
    file: 'src/users.ts',
    after: 'activeUsers(): User[] {',
    typed: 'let count = ',
  },
  {
    name: 'text: isEmpty body',
    file: 'src/text.ts',
    after: 'return text.trim().length === 0;\n}',
    typed: '\nexport function isEmpty(text: string): boolean {\n',
  },
  {
    name: 'text: let result = ',
    file: 'src/text.ts',
    after: 'export function truncate(text: string, max: number): string {',
    typed: 'let result = ',
  },
  {
    name: 'math: double: return ',
    file: 'src/math.ts',
    after: 'return a + (b - a) * t;\n}',
    typed: '\nexport function double(x: number): number {\nreturn ',
  },
  {
    name: 'math: clamp: return ',
    file: 'src/math.ts',
    after: 'return max;\n  }',
    typed: 'return ',
  },
  {
    name: 'text: capitalize: return ',
    file: 'src/text.ts',
    after: 'if (text.length === 0) {',
    typed: 'return ',
  },
  {
    name: 'users: get: return ',
    file: 'src/users.ts',
    after: 'get(id: number): User | undefined {',
    typed: 'return ',
  },
  {
    name: 'math: mean: return ',
    file: 'src/math.ts',
    after: 'if (values.length === 0) {',
    typed: 'return ',
  },
  {
    name: 'text: truncate: return ',
    file: 'src/text.ts',
    after: 'if (text.length <= max) {',
    typed: 'return ',
  },
  {
    name: 'users: activeUsers: return ',
    file: 'src/users.ts',
    after: 'activeUsers(): User[] {',
    typed: 'return ',
  },
  {
    name: 'text: isBlank: return ',
    file: 'src/text.ts',
    after: 'export function isBlank(text: string): boolean {',
    typed: 'return ',
  },
  {
    name: 'math: lerp: return ',
    file: 'src/math.ts',
    after: 'export function lerp(a: number, b: number, t: number): number {',
    typed: 'return ',
  },
  {
    name: 'call: Math.max(',
    file: 'src/math.ts',
    after: 'export function lerp(a: number, b: number, t: number): number {',
    typed: 'const x = Math.max(',
  },
  {
    name: 'call: result.push(',
    file: 'src/users.ts',
    after: 'if (user.active) {',
    typed: 'result.push(',
  },
  {
    name: 'call: this.users.set(',
    file: 'src/users.ts',
    after: 'add(name: string, email: string): User {',
    typed: 'this.users.set(',
  },
  {
    name: 'call: console.log(',
    file: 'src/cart.ts',
    after: 'const sum = subtotal(items);',
    typed: 'console.log(',
  },
  {
    name: 'call: values.filter(',
    file: 'src/math.ts',
    after: 'export function mean(values: number[]): number {',
    typed: 'const positive = values.filter(',
  },
  {
    name: 'call: clamp(',
    file: 'src/math.ts',
    after: 'export function lerp(a: number, b: number, t: number): number {',
    typed: 'const u = clamp(',
  },
  {
    name: 'call: throw new Error(',
    file: 'src/cart.ts',
    after: 'if (!discount) {',
    typed: 'throw new Error(',
  },
  {
    name: 'call: map(',
    file: 'src/users.ts',
    after: 'activeUsers(): User[] {',
    typed: 'const names = [...this.users.values()].map(',
  },
  {
    name: 'member: items.',
    file: 'src/cart.ts',
    after: 'export function cartTotal',
    typed: 'const n = items.',
  },
  {
    name: 'member: this.',
    file: 'src/users.ts',
    after: 'remove(id: number): boolean {',
    typed: 'this.',
  },
  {
    name: 'member: text.',
    file: 'src/text.ts',
    after: 'export function words(text: string): string[] {',
    typed: 'const lower = text.',
  },
  {
    name: 'member: Math.',
    file: 'src/math.ts',
    after: 'export function lerp(a: number, b: number, t: number): number {',
    typed: 'const r = Math.',
  },
  {
    name: 'cart: const total = (cartTotal)',
    file: 'src/cart.ts',
    after: 'export function cartTotal',
    typed: 'const total = ',
  },
  {
    name: 'text: const result = ',
    file: 'src/text.ts',
    after: 'export function words(text: string): string[] {',
    typed: 'const result = ',
  },
];

/**
 * The spot near the end of the long file (its last lines are CART's): line 3,253 of 3,256, a new
 * line in a block just opened. The default model shows "return 0;" there whether the user types
 * fast or slowly.
 */
export const LONG_SPOT: Spot = {
  name: 'long file: if (sum === 0) { + Enter near the end',
  file: 'src/long.ts',
  after: 'const sum = subtotal(items);',
  typed: 'if (sum === 0) {\n',
};

export const CONTENT_FILES: Record<string, string> = {
  'src/cart.ts': CART,
  'src/users.ts': USERS,
  'src/text.ts': TEXT,
  'src/math.ts': MATH,
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
  return [
    `// ${T}: ${noun} records.`,
    ...iface,
    '',
    ...parse,
    '',
    ...validate,
    '',
    ...repo,
    '',
  ].join('\n');
}

/**
 * A module of `minLines`+ lines of real-looking code (entity blocks of about 60 lines each),
 * ending with the same small helpers as CART, so a spot near its end has familiar code above it.
 */
export function longModule(minLines = 3200): string {
  const blocks: string[] = [
    '// Generated domain model: records, parsers, validators, repositories.',
    '',
  ];
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
export function longFunctionModule(lines = 200): {
  text: string;
  startLine: number;
  endLine: number;
} {
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
      body.push(
        `  out.${name} = input.${name} === undefined ? ${i % 2 === 0} : Boolean(input.${name});`,
      );
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
