/** Background loops whose runs never overlap. */
export { SerialLoop, type SerialLoopOptions } from './serial-loop.js';
