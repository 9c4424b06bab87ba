import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs; credentials never reach them, whichever field they hide in. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'process-requests' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-user-token"]',
          'req.headers.cookie',
          'headers.authorization',
          'headers["x-user-token"]',
          '*.otp',
          'otp',
          '*.token',
          'token',
          '*.otpSecret',
          'connectionParams.authorization',
          'connectionParams["x-user-token"]',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
