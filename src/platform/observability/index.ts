export { createLogger, logFormat, type Logger, type LoggerOptions } from './logger.js';
export { StatusLine, type StatusOutput } from './status-line.js';
