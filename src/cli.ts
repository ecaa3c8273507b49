import { isatty } from 'node:tty'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { ChatError, EXIT } from './core/errors.js'
import { isOutputLoss, routeOutputLoss } from './ui/signals.js'
import type { CommandContext } from './commands/context.js'

declare const __VERSION__: string

/**
 * The one place that turns errors into messages and exit codes, and the one
 * place that exits. Commands are imported inside their actions so `--help`
 * and `keygen` never load hyperdht.
 */
async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.OK
  const program = new Command()
    .name('p2pchat')
    .description('Chat with another machine by its public key, over HyperDHT (hole-punched, end-to-end encrypted).')
    .version(__VERSION__, '-V, --version')
    .option('--no-color', 'disable colour')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'p2pchat: ')) })

  const ctx = async (): Promise<CommandContext> => {
    const { processContext } = await import('./commands/context.js')
    return processContext(program.opts().color as boolean | undefined)
  }
  const uiOptions = (cmd: Command) =>
    cmd
      .option('--json', 'print one JSON object per event on stdout (for scripts)')
      .option('--timestamps', 'show the time of each message (interactive mode)')
      .option('--sanitize', 'make control characters in received text visible in pipe mode too (always on in a terminal)')
  const bootstrapOption = () =>
    new Option('--bootstrap <list>', 'private DHT bootstrap nodes, host:port[,host:port...] (env: P2PCHAT_BOOTSTRAP; default: the public HyperDHT network)')

  program
    .command('keygen')
    .description('create an identity (ed25519 key pair) and print its public key')
    .option('-o, --out <file>', 'where to write the identity (default: $XDG_CONFIG_HOME/p2pchat/identity.json)')
    .option('-f, --force', 'replace an existing identity file (changes your public key)')
    .action(async (opts) => {
      const { keygen } = await import('./commands/keygen.js')
      exitCode = await keygen(opts, await ctx())
    })

  const listenCmd = program
    .command('listen')
    .description('announce your public key and chat with everyone who connects')
    .option('-i, --identity <file>', 'identity file (default: $XDG_CONFIG_HOME/p2pchat/identity.json, created if missing)')
    .addOption(bootstrapOption())
    .option('--qr', 'also show the public key as a QR code')
    .option('--allow <key-or-contact>', 'only accept this peer (repeatable)', collect)
    .option('--allow-file <file>', 'only accept the keys listed in this file (one per line, # comments; re-read when it changes)')
    .option('--no-forward', 'do not forward peers\' lines to each other (only the listener sees them)')
    .option('--max-peers <n>', 'refuse peers beyond this many, politely', parseCount)
    .option('--rate-lines <n>', 'per-peer limit, lines per second (0: none; default 2000)', parseCount)
    .option('--rate-bytes <n>', 'per-peer limit, bytes per second (0: none; default 4194304)', parseCount)
    .option('--flood-grace <seconds>', 'disconnect a peer kept over its limits this long (default 10)', parsePositive)
    .option('--relay-through <key>', 'pair incoming connections through this relay too (repeatable; env: P2PCHAT_RELAY)', collect)
  uiOptions(listenCmd)
    .action(async (opts) => {
      const { listen } = await import('./commands/listen.js')
      exitCode = await listen(opts, await ctx())
    })

  const connectCmd = program
    .command('connect')
    .description('connect to a listening peer by its public key and chat')
    .argument('<key>', 'the peer\'s public key (64 hex or 52 z-base-32 characters) or a contact name')
    .option('-i, --identity <file>', 'identity file (default: the default identity if it exists, else a throwaway key)')
    .addOption(bootstrapOption())
    .option('-t, --timeout <seconds>', 'give up connecting after this many seconds (per attempt)', parsePositive, 30)
    .option('--reconnect', 'when the connection drops, keep retrying (with backoff) and resume')
    .option('--relay-through <key>', 'if no direct path can be punched, connect through this relay (repeatable; env: P2PCHAT_RELAY)', collect)
  uiOptions(connectCmd)
    .action(async (key: string, opts) => {
      const { connect } = await import('./commands/connect.js')
      exitCode = await connect(key, opts, await ctx())
    })

  program
    .command('relay')
    .description('run a blind relay for peers that cannot reach each other directly (it sees only encrypted bytes)')
    .option('-i, --identity <file>', 'relay identity (default: $XDG_CONFIG_HOME/p2pchat/relay.json, created if missing)')
    .addOption(bootstrapOption())
    .option('--stats-interval <seconds>', 'how often to print the counters when they change', parsePositive, 10)
    .action(async (opts) => {
      const { relay } = await import('./commands/relay.js')
      exitCode = await relay(opts, await ctx())
    })

  program
    .command('doctor')
    .description('check DHT connectivity, this host\'s public address and NAT type, and what they mean')
    .addOption(bootstrapOption())
    .option('--json', 'print the findings as one JSON object')
    .action(async (opts) => {
      const { doctor } = await import('./commands/doctor.js')
      exitCode = await doctor(opts, await ctx())
    })

  program
    .command('whoami')
    .description('print the public key of an identity (no network)')
    .option('-i, --identity <file>', 'identity file (default: $XDG_CONFIG_HOME/p2pchat/identity.json)')
    .action(async (opts) => {
      const { whoami } = await import('./commands/whoami.js')
      exitCode = await whoami(opts, await ctx())
    })

  const contacts = program.command('contacts').description('your address book: names for keys')
  contacts
    .command('add')
    .description('save a key under a name')
    .argument('<name>', 'a short name: letters, digits, . _ -')
    .argument('<key>', 'the key: 64 hex or 52 z-base-32 characters')
    .option('-f, --force', 'replace the key of an existing name')
    .action(async (name: string, key: string, opts) => {
      const { contactsAdd } = await import('./commands/contacts.js')
      exitCode = await contactsAdd(name, key, opts, await ctx())
    })
  contacts
    .command('list')
    .description('list saved contacts (name<TAB>key)')
    .action(async () => {
      const { contactsList } = await import('./commands/contacts.js')
      exitCode = await contactsList(await ctx())
    })
  contacts
    .command('remove')
    .description('forget a contact')
    .argument('<name>')
    .action(async (name: string) => {
      const { contactsRemove } = await import('./commands/contacts.js')
      exitCode = await contactsRemove(name, await ctx())
    })

  program
    .command('bootstrap')
    .description('run a private DHT on this machine (for offline use, tests, or a team network)')
    .option('--host <ip>', 'IPv4 address peers will reach this machine on', '127.0.0.1')
    // 49737: the documented default; a literal here keeps core modules out of --help's startup.
    .option('-p, --port <port>', 'UDP port of the bootstrap node (0 picks a free one)', parsePort, 49737)
    .action(async (opts) => {
      const { bootstrap } = await import('./commands/bootstrap.js')
      exitCode = await bootstrap(opts, await ctx())
    })

  try {
    await program.parseAsync(argv)
    return exitCode
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version also arrive here, with exit code 0.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE
    }
    if (err instanceof ChatError) {
      if (!err.shown) process.stderr.write(`p2pchat: ${err.message}\n`)
      return err.exitCode
    }
    const detail = err instanceof Error ? err.message : String(err)
    process.stderr.write(`p2pchat: unexpected error: ${detail}\n`)
    if (process.env.P2PCHAT_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`)
    return EXIT.INTERNAL
  }
}

function parsePositive(value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds')
  return n
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number')
  return Number(value)
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number 0-65535')
  return Number(value)
}

// A reader that went away (`p2pchat listen | head -1`) or a closed terminal
// (EIO) ends the program quietly: through the running command's shutdown when
// it has one (a listener must unannounce first), else at once.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (isOutputLoss(err) && !routeOutputLoss(err)) process.exit(EXIT.OK)
  })
}
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`p2pchat: unexpected error: ${reason instanceof Error ? reason.message : String(reason)}\n`)
  process.exit(EXIT.INTERNAL)
})

const startedOnTerminal = [0, 1, 2].map((fd) => isatty(fd))
process.exitCode = await main(process.argv)
// The terminal was closed under us (SIGHUP; a hung-up terminal is no longer
// a tty): Node 20 aborts a normal exit when it cannot restore that terminal's
// mode (nodejs/node#51519, fixed in #58200). The command has shut down
// cleanly by now, so end by the signal, as a hung-up program does.
if (startedOnTerminal.some((was, fd) => was && !isatty(fd))) process.kill(process.pid, 'SIGHUP')
// Nothing may keep a finished command alive (stdin, timers, sockets).
process.exit()
