export { parseIsoTime } from './parse-time.js';
