// Preloaded into a service started by a test (startServer's `preload`): SIGUSR2 makes the process fail as a
// defect would, with an error nothing catches, thrown from a timer, or (TEST_CRASH=rejection) a promise
// rejected with no handler. Never loaded by the service itself.
/* global setImmediate */
process.on('SIGUSR2', () => {
  const error = new Error('a crash the test asked for');
  if (process.env.TEST_CRASH === 'rejection') void Promise.reject(error);
  else
    setImmediate(() => {
      throw error;
    });
});
