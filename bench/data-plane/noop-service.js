// A handler that does nothing: the cost measured is the container's, not the handler's.
module.exports = { handlers: { '*': () => {} } }
