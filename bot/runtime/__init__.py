"""The Telegram-facing machinery that runs beside the handlers: the paced outbox sender (on
PTB's HTTPXRequest, traced), the scheduler's sweep, and the persistence of dialogues. It sits
above the handlers (it renders what services recorded with the features' views) and below
`bot.app`, which starts and stops it."""
