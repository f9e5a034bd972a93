// moe-lens CLI: convert, info, complete, score, bench. Every command prints JSON with --json.
process.stdout.write('usage: cli.js <convert|info|complete|score|bench> [options]\n');
