// Baselines: the same jobs done with raw hyperdht streams, no p2pchat code.
//   node raw.mjs client BOOTSTRAP KEY        stdin → stream, stream → stdout (like the chat example)
//   node raw.mjs print BOOTSTRAP             server: the chat example's receiving side, prints what arrives on stdout
//   node raw.mjs echo BOOTSTRAP              server: echoes every byte back; prints "listening KEY"
import DHT from 'hyperdht'

const [mode, bootstrapArg, keyHex] = process.argv.slice(2)
const [host, port] = bootstrapArg.split(':')
const dht = new DHT({ bootstrap: [{ host, port: Number(port) }], host: '127.0.0.1' })

if (mode === 'client') {
  const socket = dht.connect(Buffer.from(keyHex, 'hex'))
  socket.on('error', () => {})
  process.stdin.pipe(socket).pipe(process.stdout)
  socket.on('close', () => {
    // The bench times how long it takes to notice a dead peer.
    process.stderr.write('closed\n')
    dht.destroy().then(() => process.exit(0))
  })
} else {
  const keyPair = DHT.keyPair()
  const server = dht.createServer((socket) => {
    socket.on('error', () => {})
    if (mode === 'echo') {
      socket.pipe(socket)
      return
    }
    socket.pipe(process.stdout, { end: false })
    socket.on('end', () => socket.end())
  })
  await server.listen(keyPair)
  process.stderr.write(`listening ${keyPair.publicKey.toString('hex')}\n`)
}
