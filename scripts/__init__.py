"""Project scripts: running the bot, evaluating it."""
