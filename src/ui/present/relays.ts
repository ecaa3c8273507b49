import type { RelayReachability, RelayStats } from '../../core/relay/service.js'
import type { RecordRefusal, RoomRelays } from '../../core/relay/room-relays.js'
import { VOLUNTEER_MAX_BYTES_PER_SEC, VOLUNTEER_MAX_PAIRS, type MemberRelay } from '../../core/relay/volunteer.js'
import type { ChatUi } from '../chat-ui.js'
import { formatBytes } from '../format.js'
import type { Output } from '../output.js'

/*
 * The words of relaying: a room member's volunteer relay (connect), the
 * room's list of volunteers (listen), and `p2pchat relay`.
 */

/** Shows what a room member's volunteer relay does (connect). */
export function showMemberRelay(member: MemberRelay, ui: ChatUi, nameOf: (hex: string) => string): void {
  const who = (hex: string) => `${nameOf(hex)} (${hex.slice(0, 8)})`
  member.on('volunteering', (relayKey) =>
    ui.relay({
      event: 'volunteering',
      relayKey,
      maxPairs: VOLUNTEER_MAX_PAIRS,
      maxBytesPerSec: VOLUNTEER_MAX_BYTES_PER_SEC,
      // One short line: most chats never need it (the limits are in the JSON event and docs/relaying.md).
      text: `volunteering as a relay for this room (relay ${relayKey.slice(0, 8)}; --no-relay to opt out)`
    })
  )
  member.on('declined', (reason) => ui.relay({ event: 'declined', reason, text: `not volunteering as a relay for this room: ${reason}` }))
  member.on('failed', (message) => ui.relay({ event: 'failed', reason: message, text: `could not volunteer as a relay for this room: ${message}` }))
  member.on('paired', (peer, other, active) =>
    ui.relay({ event: 'paired', key: peer, name: nameOf(peer), to: other, active, text: `relaying for ${who(peer)} to ${who(other)}: ${active} relayed now` })
  )
  member.on('unpaired', (peer, bytes, active) =>
    ui.relay({
      event: 'unpaired',
      key: peer,
      name: nameOf(peer),
      bytes,
      active,
      text: `stopped relaying for ${who(peer)} (${formatBytes(bytes)} relayed): ${active} relayed now`
    })
  )
  member.on('refused', (peer, reason) =>
    ui.relay({
      event: 'refused',
      key: peer,
      reason,
      text:
        reason === 'outsider'
          ? `refused to relay for ${peer.slice(0, 8)}: its pair did not include this room's listener`
          : `refused to relay for ${peer.slice(0, 8)}: already relaying ${VOLUNTEER_MAX_PAIRS} pairs (the cap)`
    })
  )
  member.on('cut', (peer, rate) =>
    ui.relay({
      event: 'cut',
      key: peer,
      bytesPerSec: rate,
      text: `stopped relaying for ${who(peer)}: it averaged ${formatBytes(rate)}/s, over the cap of ${formatBytes(VOLUNTEER_MAX_BYTES_PER_SEC)}/s`
    })
  )
}

/** Shows which room members volunteer as relays (listen). */
export function showRoomRelays(relays: RoomRelays, ui: ChatUi, nameOf: (hex: string) => string): void {
  relays.on('volunteer', (member, relayKey) =>
    ui.relay({
      event: 'volunteer',
      key: member,
      name: nameOf(member),
      relayKey,
      text: `${nameOf(member)} (${member.slice(0, 8)}) volunteers as a relay for this room (relay ${relayKey.slice(0, 8)}): newcomers who cannot reach this listener directly come through it`
    })
  )
  relays.on('volunteer-gone', (member, relayKey) =>
    ui.relay({
      event: 'volunteer-gone',
      key: member,
      name: nameOf(member),
      relayKey,
      text: `${nameOf(member)}'s relay (${relayKey.slice(0, 8)}) is no longer listed for this room`
    })
  )
  relays.on('record-refused', (member, relayKey, reason) =>
    ui.relay({
      event: 'record-refused',
      key: member,
      name: nameOf(member),
      relayKey,
      reason,
      text: `${nameOf(member)} (${member.slice(0, 8)}) offers ${relayKey.slice(0, 8)} as its relay, which is ${REFUSED_RELAY[reason]}: not listed for newcomers`
    })
  )
}

/** Why a member's offered relay is never listed. */
const REFUSED_RELAY: Record<RecordRefusal, string> = {
  listener: "this listener's own key",
  member: "a room member's chat key, not a relay",
  taken: "another member's relay"
}

/** The path indicator's name for a room member's volunteer relay, on the listener. */
export function memberRelayName(member: string): string {
  return `${member}'s relay`
}

/** `p2pchat relay`: what it says while it runs. */
export const relayWords = {
  running: (hex: string, z32: string) => `relay running on ${hex} (z-base-32: ${z32})`,
  reachability(reach: RelayReachability): string {
    if (reach.reachable) return `reachable at ${reach.address!.host}:${reach.address!.port}: peers connect to it directly, no hole punching needed`
    return `warning: not reachable from outside: ${reach.reason}; peers behind randomizing NATs may fail to pair through it: run it on a host with a public address whose UDP port is open`
  },
  usage: (hex: string, bootstrapFlag: string) => `peers use it with: --relay-through ${hex}${bootstrapFlag}   (it only ever sees encrypted bytes)`,
  stopped: 'relay stopped',
  stats: (s: RelayStats) => `relaying ${s.active} connection${s.active === 1 ? '' : 's'} now, ${s.total} since start, ${formatBytes(s.bytes)} relayed`
}

/** Prints the relay's counters every `everyMs`, when they changed, and once more at stop(). */
export function reportRelayStats(output: Output, stats: () => RelayStats, everyMs: number): { stop(): void } {
  let last = ''
  const report = () => {
    const line = relayWords.stats(stats())
    if (line !== last) output.notice(line)
    last = line
  }
  const timer = setInterval(report, everyMs)
  return {
    stop() {
      clearInterval(timer)
      report()
    }
  }
}
