import { isatty } from 'node:tty'
import { Command, CommanderError, Option } from 'commander'
import { collect, counted, examples, filePath, LIMITS, minutes, parseCount, parsePort, seconds } from './cli-options.js'
import { ChatError, escapeControls, EXIT } from './core/errors.js'
import { endBySignal, isOutputLoss, routeOutputLoss } from './process/shutdown.js'
import type { CommandContext } from './commands/context.js'
import { timed } from './ui/events.js'
import type { Output } from './ui/output.js'
import { safeJson } from './ui/sanitize.js'

declare const __VERSION__: string

/**
 * The one place that turns errors into messages and exit codes, and the one
 * place that exits. Commands are imported inside their actions so `--help`
 * and `keygen` never load hyperdht.
 */
async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.OK
  let output: Output | undefined
  const program = new Command()
    .name('p2pchat')
    .description('Chat with another machine by its public key, over HyperDHT (hole-punched, end-to-end encrypted).')
    .version(__VERSION__, '-V, --version')
    .option('--no-color', 'disable colour')
    .exitOverride()
    .configureOutput({
      // commander's errors are printed by the one catch below, as one line.
      outputError: () => {},
      // commander writes help to its error stream only when no command was
      // given (bare `p2pchat`): a person asking what there is. It is the help
      // they get, on stdout, with exit 0, as for `p2pchat --help`.
      writeErr: (text) => process.stdout.write(text)
    })
    // Each option states its own default, once, in its description:
    // commander would append a second "(default: …)" to those it knows.
    .configureHelp({ optionDescription: (option) => option.description })
    .helpCommand(false)

  const ctx = async (): Promise<CommandContext> => {
    const { processContext } = await import('./commands/context.js')
    const context = await processContext(program.opts().color as boolean | undefined)
    output = context.output
    return context
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
    .option('-o, --out <file>', 'where to write the identity (default: $XDG_CONFIG_HOME/p2pchat/identity.json)', filePath)
    .option('-f, --force', 'replace an existing identity file (changes your public key)')
    .addHelpText('after', examples([
      ['p2pchat keygen', 'create your default identity; prints its public key'],
      ['p2pchat keygen --out ~/work-id.json', 'a second identity, for: listen --identity ~/work-id.json'],
      ['KEY=$(p2pchat keygen --out id.json)', 'the hex key alone is on stdout, for scripts']
    ]))
    .action(async (opts) => {
      const { keygen } = await import('./commands/keygen.js')
      exitCode = await keygen(opts, await ctx())
    })

  const listenCmd = program
    .command('listen')
    .description('announce your public key and chat with everyone who connects')
    .option('-i, --identity <file>', 'identity file; must exist (default: $XDG_CONFIG_HOME/p2pchat/identity.json, created if missing)', filePath)
    .addOption(bootstrapOption())
    .option('--qr', 'also show the public key as a QR code')
    .option('--allow <key-or-contact>', 'only accept this peer (repeatable; a contact name is resolved at start)', collect)
    .option('--allow-file <file>', 'only accept the keys listed in this file (one per line, # comments; re-read when it changes)', filePath)
    .option('--no-forward', 'do not forward peers\' lines to each other (only the listener sees them)')
    .option('--max-peers <n>', 'refuse peers beyond this many, politely (default: no limit)', parseCount)
    .option('--rate-lines <n>', 'per-peer limit, lines per second (0: no limit; default: 2000)', parseCount)
    .option('--rate-bytes <n>', 'per-peer limit, bytes per second (0: no limit; default: 4194304, 4 MiB)', parseCount)
    .option('--flood-grace <seconds>', `disconnect a peer kept over its limits this long (at most ${LIMITS.floodGrace}; default: 10)`, seconds(LIMITS.floodGrace))
    .option('--relay-through <key>', 'pair incoming connections through this relay too (repeatable; env: P2PCHAT_RELAY)', collect)
    .option('--no-relay', "do not list room members' volunteer relays for newcomers who cannot reach this listener directly")
    .option('--allow-contacts', 'only accept your contacts (re-read when they change), and whoever pairs by invite code')
    .option('--invite', 'also print a one-time invite code (like 7-orbit-tunnel-maple) that pairs a peer: each side saves the other as a contact')
    .option('--invite-uses <n>', `how many peers the code pairs before it is used up (1 to ${LIMITS.inviteUses}; default: 1)`, counted(1, LIMITS.inviteUses))
    .option('--invite-expires <minutes>', `the code expires after this many minutes (at most ${LIMITS.inviteExpires}; default: 10)`, minutes(LIMITS.inviteExpires))
    .option('--name <name>', 'the contact name you offer to those who pair with you (default: your login name)')
  uiOptions(listenCmd)
    .addHelpText('after', examples([
      ['p2pchat listen', 'announce your key; anyone who has it can join'],
      ['p2pchat listen --invite --allow-contacts', 'pair by a code you read out; only contacts may join'],
      ['p2pchat listen --allow alice --allow-file ~/friends.txt', 'only these peers may join'],
      ['tail -f build.log | p2pchat listen --no-forward', 'broadcast a log to whoever connects']
    ]))
    .action(async (opts) => {
      const { listen } = await import('./commands/listen.js')
      exitCode = await listen(opts, await ctx())
    })

  const connectCmd = program
    .command('connect')
    .description('connect to a listening peer by invite code, contact name or public key, and chat')
    // Words: an invite code typed without quotes (`connect 7 orbit tunnel maple`) arrives as several.
    .argument('<code|name|key...>', 'an invite code (7-orbit-tunnel-maple, or its words with spaces), a contact name, or the peer\'s public key (64 hex or 52 z-base-32 characters)')
    .option('-i, --identity <file>', 'identity file; must exist (default: the default identity if it exists, else a throwaway key)', filePath)
    .addOption(bootstrapOption())
    .option('-t, --timeout <seconds>', `give up connecting after this many seconds, per attempt (at most ${LIMITS.timeout}; default: 30)`, seconds(LIMITS.timeout), 30)
    .option('--reconnect', 'when the connection drops, keep retrying (with backoff) and resume')
    .option('--relay-through <key>', 'if no direct path can be punched, connect through this relay (repeatable; env: P2PCHAT_RELAY)', collect)
    .option('--no-relay', "do not volunteer as a relay for the room (a member behind an open or consistent NAT relays for newcomers who cannot reach the listener directly)")
    .option('--name <name>', 'with an invite code: the contact name you offer to the inviter (default: your login name)')
    .option('--save-as <name>', 'with an invite code: save the inviter under this name (default: the name it offers)')
  uiOptions(connectCmd)
    .addHelpText('after', examples([
      ['p2pchat connect 7-orbit-tunnel-maple', 'pair by invite code (from listen --invite), then chat; saves a contact'],
      ['p2pchat connect alice', 'chat with a contact (see: p2pchat contacts add)'],
      ["printf 'backup done\\n' | p2pchat connect KEY", 'send a line from a script; exits 0 once delivered'],
      ['p2pchat connect KEY --reconnect --relay-through RELAYKEY', 'stay connected, through a relay if needed']
    ]))
    .action(async (words: string[], opts) => {
      const { connect } = await import('./commands/connect.js')
      exitCode = await connect(words, opts, await ctx())
    })

  program
    .command('relay')
    .description('run a blind relay for peers that cannot reach each other directly (it sees only encrypted bytes)')
    .option('-i, --identity <file>', 'relay identity; must exist (default: $XDG_CONFIG_HOME/p2pchat/relay.json, created if missing)', filePath)
    .addOption(bootstrapOption())
    .option(
      '--stats-interval <seconds>',
      `how often to print the counters when they change (${LIMITS.statsIntervalMin} to ${LIMITS.statsInterval}; default: 10)`,
      seconds(LIMITS.statsInterval, LIMITS.statsIntervalMin),
      10
    )
    .addHelpText('after', examples([
      ['p2pchat relay', 'run a relay on a machine both peers can reach; prints its key'],
      ['p2pchat relay --stats-interval 60', 'report the counters at most once a minute'],
      ['P2PCHAT_RELAY=RELAYKEY p2pchat connect alice', 'how peers use it']
    ]))
    .action(async (opts) => {
      const { relay } = await import('./commands/relay.js')
      exitCode = await relay(opts, await ctx())
    })

  program
    .command('doctor')
    .description('check DHT connectivity, this host\'s public address and NAT type, and what they mean')
    .addOption(bootstrapOption())
    .option('--json', 'print the findings (or the error) as one JSON object')
    .addHelpText('after', examples([
      ['p2pchat doctor', 'can this machine reach the DHT, and will hole punching work?'],
      ['p2pchat doctor --json', 'the same as one JSON object, for scripts'],
      ['p2pchat doctor --bootstrap 127.0.0.1:49737', 'check a private network (see: p2pchat bootstrap)']
    ]))
    .action(async (opts) => {
      const { doctor } = await import('./commands/doctor.js')
      exitCode = await doctor(opts, await ctx())
    })

  program
    .command('whoami')
    .description('print the public key of an identity (no network)')
    .option('-i, --identity <file>', 'identity file (default: $XDG_CONFIG_HOME/p2pchat/identity.json)', filePath)
    .addHelpText('after', examples([
      ['p2pchat whoami', 'your public key, hex then z-base-32, to give to others'],
      ['p2pchat whoami --identity ~/work-id.json', 'the key of another identity file']
    ]))
    .action(async (opts) => {
      const { whoami } = await import('./commands/whoami.js')
      exitCode = await whoami(opts, await ctx())
    })

  const contactsList = async () => {
    const { contactsList } = await import('./commands/contacts.js')
    exitCode = await contactsList(await ctx())
  }
  const contacts = program
    .command('contacts')
    .description('your address book: names for keys (without a subcommand: list them)')
    .allowExcessArguments()
    .addHelpText('after', examples([
      ['p2pchat contacts add alice KEY', 'save a key under a name'],
      ['p2pchat contacts', 'list them (name<TAB>key)'],
      ['p2pchat connect alice', 'use a name wherever a key is expected']
    ]))
    .action(async (_opts, cmd: Command) => {
      // Bare `contacts` lists; anything else here is a subcommand that does not exist.
      if (cmd.args.length > 0) throw ChatError.usage(`unknown command 'contacts ${cmd.args[0]}' (use: add, list, rename, remove)`)
      await contactsList()
    })
  contacts
    .command('add')
    // `contacts` itself takes extra words (to name a wrong subcommand); its subcommands do not.
    .allowExcessArguments(false)
    .description('save a key under a name')
    .argument('<name>', 'a short name: letters, digits, . _ -')
    .argument('<key>', 'the key: 64 hex or 52 z-base-32 characters')
    .option('-f, --force', 'replace the key of an existing name')
    .addHelpText('after', examples([
      ['p2pchat contacts add alice KEY', 'KEY as printed by her p2pchat listen or whoami'],
      ['p2pchat contacts add alice NEWKEY --force', 'alice has a new key']
    ]))
    .action(async (name: string, key: string, opts) => {
      const { contactsAdd } = await import('./commands/contacts.js')
      exitCode = await contactsAdd(name, key, opts, await ctx())
    })
  contacts
    .command('list')
    .allowExcessArguments(false)
    .description('list saved contacts (name<TAB>key)')
    .addHelpText('after', examples([
      ['p2pchat contacts list', 'one name<TAB>key line per contact'],
      ["p2pchat contacts list | cut -f1", 'just the names']
    ]))
    .action(contactsList)
  contacts
    .command('rename')
    .allowExcessArguments(false)
    .description('give a contact another name (e.g. one saved by pairing)')
    .argument('<name>')
    .argument('<new-name>')
    .addHelpText('after', examples([
      ['p2pchat contacts rename bob-2 bob-laptop', 'after pairing saved a second bob'],
      ['p2pchat contacts', 'check the result']
    ]))
    .action(async (name: string, to: string) => {
      const { contactsRename } = await import('./commands/contacts.js')
      exitCode = await contactsRename(name, to, await ctx())
    })
  contacts
    .command('remove')
    .allowExcessArguments(false)
    .description('forget a contact')
    .argument('<name>')
    .addHelpText('after', examples([
      ['p2pchat contacts remove alice', 'forget alice'],
      ['p2pchat contacts', 'check what is left']
    ]))
    .action(async (name: string) => {
      const { contactsRemove } = await import('./commands/contacts.js')
      exitCode = await contactsRemove(name, await ctx())
    })

  program
    .command('bootstrap')
    .description('run a private DHT on this machine (for offline use, tests, or a team network)')
    .option('--host <ip>', 'IPv4 address peers will reach this machine on (default: 127.0.0.1)', '127.0.0.1')
    // 49737: the documented default; a literal here keeps core modules out of --help's startup.
    .option('-p, --port <port>', 'UDP port of the bootstrap node (0 picks a free one; default: 49737)', parsePort, 49737)
    .addHelpText('after', examples([
      ['p2pchat bootstrap', 'a private DHT on 127.0.0.1:49737, for this machine'],
      ['p2pchat bootstrap --host 192.168.1.10', 'a DHT for the LAN; peers use --bootstrap 192.168.1.10:49737'],
      ['P2PCHAT_BOOTSTRAP=127.0.0.1:49737 p2pchat listen', 'use it']
    ]))
    .action(async (opts) => {
      const { bootstrap } = await import('./commands/bootstrap.js')
      exitCode = await bootstrap(opts, await ctx())
    })

  // `p2pchat help contacts add` shows add's help (commander's own help command looks one level deep).
  program
    .command('help')
    .description('show the help of a command, e.g. p2pchat help contacts add')
    .argument('[command...]', 'the command')
    .action((names: string[]) => {
      let cmd: Command = program
      for (const name of names) {
        const sub = cmd.commands.find((c) => c.name() === name || c.aliases().includes(name))
        if (!sub) throw ChatError.usage(`unknown command '${names.join(' ')}' (run 'p2pchat --help' for the list)`)
        cmd = sub
      }
      cmd.help()
    })

  try {
    await program.parseAsync(argv)
    return exitCode
  } catch (err) {
    // Help and --version also arrive here, with exit code 0; and the help of a
    // bare `p2pchat` (commander's 'commander.help', exit code 1), shown on stdout: exit 0 too.
    if (err instanceof CommanderError && (err.exitCode === 0 || err.code === 'commander.help')) return EXIT.OK
    return reportError(err, wantsJson(program, argv) ? output ?? null : undefined)
  }
}

/**
 * The one place an error becomes what the user sees: one line on stderr,
 * whatever it contains (control characters in anything the user typed are
 * escaped, e.g. a newline becomes \n), and with --json also a JSON error
 * object on stdout, the shape of the JSON UI's `error` event. Returns the exit code.
 * `json`: undefined = no JSON; null = JSON, no command Output yet; else that Output.
 */
function reportError(err: unknown, json: Output | null | undefined): number {
  let code: string
  let message: string
  let exitCode: number
  if (err instanceof CommanderError) {
    code = 'USAGE'
    // commander's own line break before its suggestion is not the user's.
    message = `${err.message.replace(/^error: /, '').replace(/\n\(Did you mean /, ' (did you mean ')} (run with --help for usage)`
    exitCode = EXIT.USAGE
  } else if (err instanceof ChatError) {
    ;({ code, message, exitCode } = err)
  } else {
    code = 'INTERNAL'
    message = `unexpected error: ${err instanceof Error ? err.message : String(err)}`
    exitCode = EXIT.INTERNAL
  }
  message = escapeControls(message)
  if (json !== undefined) {
    const event = timed({ type: 'error', code, message, exitCode })
    // Through the command's Output when there is one, so it follows every event already printed.
    if (json) json.json(event)
    else process.stdout.write(safeJson(event) + '\n')
  }
  process.stderr.write(`p2pchat: ${message}\n`)
  if (exitCode === EXIT.INTERNAL && process.env.P2PCHAT_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`)
  return exitCode
}

/**
 * Whether --json was given to a command that has it (listen, connect,
 * doctor): only then is an error also a JSON object on stdout. Anywhere else
 * (`help --json`, `keygen --json`) --json is an unknown option, and its error
 * one line on stderr, like any other. Reads argv as commander does: the
 * command path, each command's own options (the value of one that takes a
 * value is skipped: `--name --json` offers the name "--json"), up to a `--`.
 */
function wantsJson(program: Command, argv: string[]): boolean {
  let cmd = program
  const args = argv.slice(2)
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') return false
    if (arg === '--json') {
      if (cmd.options.some((o) => o.long === '--json')) return true
      continue
    }
    if (arg.startsWith('-')) {
      const option = cmd.options.find((o) => o.long === arg || o.short === arg)
      if (option?.required) i++
      continue
    }
    cmd = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg)) ?? cmd
  }
  return false
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
  process.stderr.write(`p2pchat: ${escapeControls(`unexpected error: ${reason instanceof Error ? reason.message : String(reason)}`)}\n`)
  process.exit(EXIT.INTERNAL)
})

const startedOnTerminal = [0, 1, 2].map((fd) => isatty(fd))
process.exitCode = await main(process.argv)
// The terminal was closed under us (SIGHUP; a hung-up terminal is no longer
// a tty): Node 20 aborts a normal exit when it cannot restore that terminal's
// mode (nodejs/node#51519, fixed in #58200). The command has shut down
// cleanly by now, so end by the signal, as a hung-up program does.
if (startedOnTerminal.some((was, fd) => was && !isatty(fd))) endBySignal('SIGHUP')
// Nothing may keep a finished command alive (stdin, timers, sockets).
process.exit()
