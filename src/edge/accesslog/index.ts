/** The edge's access log: non-blocking push, batched shipping, disk spool while the sink is down. */
export { AccessLog, type AccessLogLastError, type AccessLogStats } from './access-log.ts';
export { AccessLogError, type AccessLogErrorCode } from './errors.ts';
export { FileSink } from './file-sink.ts';
export { ACCESS_LOG_INTAKE_PATH, HttpSink, type HttpSinkOptions } from './http-sink.ts';
export { ACCESS_LOG_DEFAULTS, type AccessLogOptions } from './options.ts';
export { type LogSink, toNdjson } from './sink.ts';
