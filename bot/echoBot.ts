import { TeamsActivityHandler } from 'botbuilder';

/** The smallest bot on the same stack: the benchmark's baseline turn. */
export class EchoBot extends TeamsActivityHandler {
  constructor() {
    super();
    this.onMessage(async (context, next) => {
      await context.sendActivity(`echo: ${context.activity.text ?? ''}`);
      await next();
    });
  }
}
