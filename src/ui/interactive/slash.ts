import type { Sender } from '../../core/peer/connection.js'
import type { ChatController } from '../chat-ui.js'
import { formatPeerRow, formatVerifyRow } from '../format.js'
import type { Style } from '../output.js'
import { sanitize, sanitizeText } from '../sanitize.js'

/*
 * Slash commands: what each one looks like (parseInput), what /help says of
 * it (HELP_TEXT) and what it does (runSlash). A new command touches this
 * file, and ChatController when it needs something new of the chat.
 */

export const HELP_TEXT = [
  'commands:',
  '  /help                 this help',
  '  /peers                connected peers: key, time connected, address, round-trip time',
  '  /send-to <peer> text  send to one peer only (listener; <peer> is a name or key prefix)',
  '  /verify [peer]        the safety words to compare with the peer (listener: every peer, or one)',
  '  /invite               a new one-time invite code that pairs someone with you (listener)',
  '  /clear                clear the screen',
  '  /quit                 leave (same as Ctrl+C)',
  '  //text                send a line that starts with "/"'
].join('\n')

export type SlashCommand =
  | { kind: 'text'; text: string }
  | { kind: 'help' }
  | { kind: 'peers' }
  | { kind: 'quit' }
  | { kind: 'clear' }
  | { kind: 'send-to'; target: string; text: string }
  | { kind: 'verify'; target: string | null }
  | { kind: 'invite' }
  | { kind: 'unknown'; name: string }
  | { kind: 'usage'; message: string }

/** Parses a typed line: plain text, `//literal`, or a slash command. */
export function parseInput(line: string): SlashCommand {
  if (!line.startsWith('/')) return { kind: 'text', text: line }
  if (line.startsWith('//')) return { kind: 'text', text: line.slice(1) }
  const match = /^\/(\S*)\s*([^]*)$/.exec(line)!
  const name = match[1]!.toLowerCase()
  const rest = match[2]!
  switch (name) {
    case 'help':
    case '?':
      return { kind: 'help' }
    case 'peers':
      return { kind: 'peers' }
    case 'quit':
    case 'exit':
      return { kind: 'quit' }
    case 'clear':
      return { kind: 'clear' }
    case 'send-to': {
      const m = /^(\S+)\s+([^]+)$/.exec(rest)
      if (!m) return { kind: 'usage', message: 'usage: /send-to <peer> text' }
      return { kind: 'send-to', target: m[1]!, text: m[2]! }
    }
    case 'verify': {
      const target = rest.trim()
      if (/\s/.test(target)) return { kind: 'usage', message: 'usage: /verify [peer]' }
      return { kind: 'verify', target: target || null }
    }
    case 'invite':
      if (rest.trim()) return { kind: 'usage', message: 'usage: /invite (it takes no arguments: --invite-uses and --invite-expires set the codes)' }
      return { kind: 'invite' }
    default:
      return { kind: 'unknown', name: '/' + name }
  }
}

/** What a slash command may do on the screen, and the chat it acts on (InteractiveUi). */
export interface SlashView {
  readonly controller: ChatController
  readonly style: Style
  now(): number
  /** Prints a line above the prompt. */
  print(text: string): void
  /** A `* …` line of ours. */
  system(text: string): void
  /** One of our lines, numbered `seq`, written to the peers `to` (none: queued), with a delivery mark that changes in place. */
  printOwn(text: string, seq: number, to: readonly Sender[]): void
  /** `[12:03:04] ` with --timestamps, else ''. */
  stamp(): string
  /** A peer's name, coloured. */
  peerName(peer: Sender): string
  clearScreen(): void
}

/** Runs what was typed at the prompt (parsed by parseInput). */
export function runSlash(cmd: SlashCommand, view: SlashView): void {
  const { controller, style: c } = view
  switch (cmd.kind) {
    case 'text': {
      if (cmd.text.length === 0) break
      const sent = controller.send([Buffer.from(cmd.text)])
      const text = `${view.stamp()}${c.bold(sent.fate === 'queued' ? 'you (queued)' : 'you')}${c.dim(':')} ${sanitize(cmd.text)}`
      if (sent.fate === 'dropped') view.system(`not sent (${sent.reason}): ${sanitize(cmd.text)}`)
      else if (sent.first === undefined) view.print(text)
      else view.printOwn(text, sent.first, sent.to ?? [])
      break
    }
    case 'help':
      view.print(HELP_TEXT)
      break
    case 'peers': {
      const peers = controller.peers()
      if (peers.length === 0) view.system('no peers connected')
      const now = view.now()
      for (const p of peers) view.print(formatPeerRow(p, view.peerName(p), now))
      break
    }
    case 'verify':
      verify(view, cmd.target)
      break
    case 'invite': {
      if (!controller.invite) {
        view.system('/invite works on a listener: it opens a code that pairs someone with it')
        break
      }
      const why = controller.invite()
      view.system(why ?? 'opening a new invite code…')
      break
    }
    case 'quit':
      controller.quit()
      break
    case 'clear':
      view.clearScreen()
      break
    case 'send-to': {
      if (controller.role !== 'listen' || !controller.sendTo) {
        view.system('/send-to works on a listener; here every line goes to the one peer')
        break
      }
      const sent = controller.sendTo(cmd.target, cmd.text)
      const target = JSON.stringify(cmd.target)
      if (sent.fate === 'no-such-peer') {
        view.system(sanitizeText(sent.matches === 0 ? `no connected peer matches ${target}` : `${target} matches ${sent.matches} peers: give more of the key`))
      } else if (sent.fate === 'dropped' || sent.first === undefined) view.system(`not sent (${sent.reason ?? 'no peers connected'}): ${sanitize(cmd.text)}`)
      else view.printOwn(`${view.stamp()}${c.bold(`you → ${sanitize(cmd.target)}`)}${c.dim(':')} ${sanitize(cmd.text)}`, sent.first, sent.to ?? [])
      break
    }
    case 'unknown':
      view.system(`unknown command ${sanitize(cmd.name)}`)
      view.print(HELP_TEXT)
      break
    case 'usage':
      view.system(cmd.message)
      break
  }
}

/** /verify [peer]: the safety words of the connection (connect), or of every peer or the one named (listen). */
function verify(view: SlashView, target: string | null): void {
  const peers = view.controller.peers()
  if (peers.length === 0) {
    view.system(view.controller.role === 'connect' ? 'not connected: no safety words yet' : 'no peers connected')
    return
  }
  const t = target?.toLowerCase()
  const shown = t === undefined ? peers : peers.filter((p) => p.key.startsWith(t) || p.name === target)
  if (shown.length === 0) view.system(`no connected peer matches ${sanitize(JSON.stringify(target))}`)
  for (const p of shown) view.system(formatVerifyRow(p.safetyWords, view.peerName(p)))
}
