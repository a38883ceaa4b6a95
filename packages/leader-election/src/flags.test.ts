/**
 * The --leader-elect* flags through pflag parsing (defaults, Go durations), their checks with one
 * line naming the flags, the identity form, and the record's two stored forms.
 */
import { parseFlags } from '@hakube/api/flags'
import { describe, expect, it } from 'vitest'
import { defaultIdentity, leaderElectionFlags, leaderElectionOptions } from './flags.js'
import {
  decodeRecord,
  encodeRecord,
  formatMicroTime,
  formatTime,
  leaseSpecFromRecord,
  recordFromLeaseSpec,
} from './record.js'

function parse(argv: string[]) {
  const r = parseFlags(leaderElectionFlags('kube-scheduler'), argv)
  if (!r.ok || r.help) throw new Error(JSON.stringify(r))
  return leaderElectionOptions(r.values)
}

describe('leader election flags', () => {
  it('defaults as kube-scheduler (lock endpoints, as the seeds use)', () => {
    expect(parse([])).toEqual({
      ok: true,
      options: {
        leaderElect: true,
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
        resourceLock: 'endpoints',
        resourceName: 'kube-scheduler',
        resourceNamespace: 'kube-system',
      },
    })
  })

  it('takes Go durations and every lock kind', () => {
    const r = parse([
      '--leader-elect-lease-duration=1m30s',
      '--leader-elect-renew-deadline',
      '500ms',
      '--leader-elect-retry-period=100ms',
      '--leader-elect-resource-lock=endpointsleases',
      '--leader-elect-resource-name=x',
      '--leader-elect-resource-namespace=y',
    ])
    expect(r).toMatchObject({
      ok: true,
      options: {
        leaseDurationMs: 90_000,
        renewDeadlineMs: 500,
        retryPeriodMs: 100,
        resourceLock: 'endpointsleases',
      },
    })
    expect(parse(['--leader-elect-resource-lock=leases']).ok).toBe(true)
  })

  it('rejects bad relations with one line naming the flags', () => {
    const cases: Array<[string[], string]> = [
      [
        ['--leader-elect-lease-duration=10s'],
        '--leader-elect-lease-duration (10s) must be greater than --leader-elect-renew-deadline (10s)',
      ],
      [
        ['--leader-elect-renew-deadline=2s'],
        '--leader-elect-renew-deadline (2s) must be greater than 1.2 × --leader-elect-retry-period (2s)',
      ],
      [['--leader-elect-retry-period=0s'], '--leader-elect-retry-period (0s) must be greater than zero'],
      [
        [
          '--leader-elect-lease-duration=2.5s',
          '--leader-elect-renew-deadline=2.2s',
          '--leader-elect-retry-period=1s',
        ],
        '--leader-elect-lease-duration (2.5s) is recorded in whole seconds and must then still be greater than --leader-elect-renew-deadline (2.2s)',
      ],
      [
        ['--leader-elect-resource-lock=configmaps'],
        `invalid --leader-elect-resource-lock "configmaps": supported options are 'endpoints', 'leases' and 'endpointsleases'`,
      ],
      [['--leader-elect-resource-name='], '--leader-elect-resource-name must not be empty'],
    ]
    for (const [argv, error] of cases) {
      const r = parse(argv)
      expect(r, argv.join(' ')).toEqual({ ok: false, error })
      expect(error).not.toContain('\n')
    }
  })

  it('checks nothing with --leader-elect=false (component-base validates only when enabled)', () => {
    expect(parse(['--leader-elect=false', '--leader-elect-lease-duration=1s']).ok).toBe(true)
  })

  it('a bad duration is pflag error', () => {
    const r = parseFlags(leaderElectionFlags('x'), ['--leader-elect-lease-duration=15'])
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error).toMatch(/invalid argument "15" for "--leader-elect-lease-duration" flag/)
  })

  it('identity is hostname_uuid, the host from HAKUBE_HOSTNAME when set', () => {
    expect(defaultIdentity({ HAKUBE_HOSTNAME: 'master-2' })).toMatch(
      /^master-2_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    )
    const a = defaultIdentity({})
    expect(a).toMatch(/^.+_[0-9a-f-]{36}$/)
    expect(defaultIdentity({})).not.toBe(a)
  })
})

describe('the record', () => {
  const t = Date.UTC(2024, 0, 2, 3, 4, 5, 678)

  it('Endpoints annotation: client-go field order, whole-second times', () => {
    expect(formatTime(t)).toBe('2024-01-02T03:04:05Z')
    const r = {
      holderIdentity: 'h_1',
      leaseDurationSeconds: 15,
      acquireTime: formatTime(t),
      renewTime: formatTime(t),
      leaderTransitions: 2,
    }
    expect(encodeRecord(r)).toBe(
      '{"holderIdentity":"h_1","leaseDurationSeconds":15,"acquireTime":"2024-01-02T03:04:05Z","renewTime":"2024-01-02T03:04:05Z","leaderTransitions":2}',
    )
    expect(decodeRecord(encodeRecord(r))).toEqual(r)
    expect(decodeRecord('{"holderIdentity":7}')).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 0,
      acquireTime: '',
      renewTime: '',
      leaderTransitions: 0,
    })
    expect(() => decodeRecord('[1]')).toThrow(/not a JSON object/)
    expect(() => decodeRecord('{')).toThrow()
  })

  it('Lease spec: MicroTime and leaseTransitions', () => {
    expect(formatMicroTime(t)).toBe('2024-01-02T03:04:05.678000Z')
    const spec = leaseSpecFromRecord({
      holderIdentity: 'h',
      leaseDurationSeconds: 3,
      acquireTime: formatTime(t),
      renewTime: formatMicroTime(t),
      leaderTransitions: 4,
    })
    expect(spec).toEqual({
      holderIdentity: 'h',
      leaseDurationSeconds: 3,
      acquireTime: '2024-01-02T03:04:05.000000Z',
      renewTime: '2024-01-02T03:04:05.678000Z',
      leaseTransitions: 4,
    })
    expect(recordFromLeaseSpec(spec).leaderTransitions).toBe(4)
    expect(recordFromLeaseSpec(undefined).holderIdentity).toBe('')
  })
})
