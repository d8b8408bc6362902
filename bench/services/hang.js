// A handler that never returns: the first data message makes it spin in synchronous code, the
// hardest handler for a shutdown. It logs `handler hanging` first, so the bench knows when.
module.exports = {
  handlers: {
    '*': (message, ctx) => {
      if (!message.topic.endsWith('.data')) return
      ctx.log.info('handler hanging')
      for (;;) {}
    },
  },
}
