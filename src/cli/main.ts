#!/usr/bin/env node
// The `forelock` command.
console.error('forelock: no commands yet');
process.exit(2);
