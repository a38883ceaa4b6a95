import { describe, expect, it } from 'vitest'
import type { Member } from '../backend.js'
import { isValidPeerUrl, newMember } from './cluster-rules.js'
import { deriveMemberId } from './member-id.js'

const TOKEN = 'etcd-cluster'
const member = (name: string, url: string): Member => ({
  id: deriveMemberId([url], TOKEN),
  name,
  peerUrls: [url],
  clientUrls: [],
  isLearner: false,
})
const MEMBERS = [member('m1', 'http://127.0.0.1:2380'), member('m2', 'http://127.0.0.2:2380')]
const errorOf = (peerUrls: string[]): string | undefined => {
  const r = newMember(MEMBERS, [], peerUrls, TOKEN, false)
  return r.ok ? undefined : r.error.message
}

describe('member add admission (etcd 3.4 v3rpc/member.go, types.NewURLs, ValidateConfigurationChange)', () => {
  it('refuses URLs etcd refuses with "given member URLs are invalid", before anything reaches Raft', () => {
    // A conformance run found `member add` with ["not a url"] accepted, and every member then stopped
    // when its peer transport tried to dial the new member.
    for (const bad of [
      [],
      ['not a url'],
      ['127.0.0.9:2380'],
      ['http://127.0.0.9'],
      ['http://h:1/path'],
      ['ftp://h:1'],
    ]) {
      expect(errorOf(bad), JSON.stringify(bad)).toBe('etcdserver: given member URLs are invalid')
    }
    expect(errorOf(['http://127.0.0.9:2380', 'bogus'])).toBe('etcdserver: given member URLs are invalid')
  })

  it('accepts host:port URLs (IPv4, IPv6, names, https, surrounding spaces)', () => {
    for (const good of [
      'http://127.0.0.9:2380',
      'https://[::1]:2380',
      'http://node-4.example:2380',
      ' http://h:1 ',
    ]) {
      expect(isValidPeerUrl(good.trim()), good).toBe(true)
      expect(errorOf([good]), good).toBeUndefined()
    }
  })

  it('answers "Peer URLs already exists" for a member\'s own URL, as etcd does', () => {
    expect(errorOf(['http://127.0.0.2:2380'])).toBe('etcdserver: Peer URLs already exists')
    expect(errorOf(['http://127.0.0.9:2380', 'http://127.0.0.1:2380'])).toBe(
      'etcdserver: Peer URLs already exists',
    )
  })

  it('still refuses the id of a removed member', () => {
    const url = 'http://127.0.0.7:2380'
    const r = newMember(MEMBERS, [deriveMemberId([url], TOKEN)], [url], TOKEN, false)
    expect(!r.ok && r.error.message).toBe('etcdserver: member ID already exist')
  })
})
