import type { Connector } from '../../core/roles/connector.js'
import type { ChatUi } from '../chat-ui.js'
import { formatPathSummary } from '../format.js'
import { showDelivery } from './delivery.js'

/*
 * The words of `connect`'s dialing: its stages, retries, relays, and a lost
 * connection. What the connection carries (lines, delivery) is shown here too.
 */

/** Shows everything a Connector does. `remoteName`: the peer as the user knows it. */
export function presentConnector(connector: Connector, ui: ChatUi, remoteName: string): void {
  let lastPath = ''
  connector.on('connecting', (relayed) =>
    ui.stage('connecting', `connecting to ${remoteName}${relayed ? ' through a relay' : ''}: looking up the key, hole punching…`)
  )
  connector.on('confirming', () => ui.stage('confirming', 'connection open; waiting for the peer to answer…'))
  connector.on('connected', (info, reconnect) => {
    lastPath = formatPathSummary(info)
    ui.connected(info, reconnect)
  })
  connector.on('path-changed', (info) => {
    ui.pathChanged(info, lastPath)
    lastPath = formatPathSummary(info)
  })
  connector.on('lines', (sender, lines) => ui.messages(sender, lines))
  connector.on('drain', () => ui.drain())
  showDelivery(connector.conversation, ui)
  connector.on('relay-retry', (failure, n, of, relay, wait) =>
    ui.notice(
      `${failure.message}; trying again${wait ? ` in ${Math.ceil(wait / 1000)} s` : ''}${relay ? ` through relay ${relay.slice(0, 8)}` : ''} (${n} of ${of})${wait ? ' (a hole punch with a randomizing NAT may start only some seconds after the last one, on either side)' : ''}`
    )
  )
  connector.on('via-relay', (failure, relay, count, volunteer, wait) =>
    ui.notice(
      `direct connection failed (${failure.message}); retrying through ${volunteer ? "a room member's relay" : 'relay'} ${relay.slice(0, 8)}${count > 1 ? ` (or one of ${count})` : ''}${wait > 0 ? ` in ${Math.ceil(wait / 1000)} s (a hole punch from behind a randomizing NAT may start only 20 s after the last one)` : ''}`
    )
  )
  connector.on('retrying', (failure, wait, attempt) =>
    ui.notice(`could not connect (${failure.message}); retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt})`)
  )
  connector.on('lost', (error) => {
    const why = error ? error.message : 'the peer closed the connection'
    ui.notice(`${why.startsWith('connection lost') ? why : `connection lost (${why})`}; reconnecting`)
  })
}

/** The name shown for a volunteer relay in a path indicator. */
export const VOLUNTEER_RELAY_NAME = "a room member's relay"

/** What `connect` says when it was stopped while pairing (nothing was saved). */
export const STOPPED_WHILE_PAIRING = 'stopped before pairing finished'

/** The stage line while a code is redeemed. */
export function pairingStage(nameplate: number): string {
  return `pairing with invite ${nameplate}-…: reaching the inviter, proving the words…`
}
