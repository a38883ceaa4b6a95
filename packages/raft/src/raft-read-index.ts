import { RaftReplication } from './raft-replication.js'
import type { Message } from './types.js'
import { NONE, newMessage } from './types.js'

/**
 * Linearizable reads without a log entry (Raft thesis §6.4, ReadIndex): the leader records its commit
 * index, confirms it still leads with a heartbeat round, then answers; a new leader first commits an
 * entry of its own term. Followers forward requests and hand the answers to the application.
 */
export abstract class RaftReadIndex extends RaftReplication {
  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.zeroTermOnOutOfBounds(this.raftLog.committed) === this.term
  }

  protected sendMsgReadIndexResponse(m: Message): void {
    if (this.trk.isSingleton()) {
      this.responseToReadIndexReq(m, this.raftLog.committed)
      return
    }
    // Thesis §6.4: record the commit index, then confirm leadership with a heartbeat round.
    this.readOnly.addRequest(this.raftLog.committed, m)
    this.readOnly.recvAck(this.id, m.context)
    this.bcastHeartbeatWithCtx(m.context)
  }

  protected releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return
    if (!this.committedEntryInCurrentTerm()) return
    const msgs = this.pendingReadIndexMessages
    this.pendingReadIndexMessages = []
    for (const m of msgs) this.sendMsgReadIndexResponse(m)
  }

  protected responseToReadIndexReq(req: Message, readIndex: number): void {
    const ctx = req.context ?? new Uint8Array(0)
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: ctx })
      return
    }
    this.send(newMessage({ type: 'MsgReadIndexResp', to: req.from, index: readIndex, context: ctx }))
  }
}
