// Keeps every message's worth of objects forever (about 2 MB each): the receive worker's heap
// grows until it runs out. The abort table's out-of-memory case.
const leak = []
module.exports = {
  handlers: {
    '*': () => {
      leak.push(new Array(50000).fill(0).map((_, i) => ({ i })))
    },
  },
}
