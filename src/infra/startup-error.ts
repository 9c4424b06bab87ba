// A start-up failure the operator fixes in the configuration or the environment: main prints its message,
// one line, instead of a stack.
export class StartupError extends Error {
  constructor(message: string) {
    super(message.split('\n')[0]);
    this.name = new.target.name;
  }
}
