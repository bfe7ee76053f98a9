// Forelock's client SDK: the package's main export.
export { ForelockError } from './util/errors.js';
