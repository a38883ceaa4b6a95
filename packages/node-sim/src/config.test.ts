/**
 * Goal: hakube-node-sim's flags parse as the issue fixes them, and bad input is one line naming the
 * flag (the binary's exit 2); --config groups read from YAML. Method: parse argument lists.
 */
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { parseNodeSimFlags } from './config.js'
import { nodeGroupsFromDocument } from './node-groups.js'

const ok = (args: string[]) => {
  const r = parseNodeSimFlags(args)
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  return r.config
}
const err = (args: string[]) => {
  const r = parseNodeSimFlags(args)
  return r.ok ? undefined : r.error
}

describe('flags', () => {
  it('defaults: one node, kubelet timings, port 10250', () => {
    const c = ok(['--master', 'http://127.0.0.1:6443'])
    expect(c.groups).toEqual([
      { names: ['hakube-node-1'], labels: {}, taints: [], cpu: '32', memory: '256Gi', pods: 110 },
    ])
    expect(c).toMatchObject({
      port: 10250,
      bindAddress: '0.0.0.0',
      nodeLeaseDurationMs: 40_000,
      nodeLeaseRenewIntervalMs: 10_000,
      nodeStatusUpdateFrequencyMs: 10_000,
      nodeStatusReportFrequencyMs: 300_000,
      podStartDelayMs: 1000,
    })
  })

  it('node groups from flags', () => {
    const c = ok([
      '--master=http://x:1',
      '--nodes=3',
      '--node-name-prefix=w',
      '--node-labels=disk=ssd,zone=a',
      '--node-taints=gpu=true:NoSchedule,dedicated:NoExecute',
      '--node-cpu=8',
      '--node-memory=16Gi',
      '--node-pods=20',
      '--fail-nodes=w-2',
    ])
    expect(c.groups?.[0]).toEqual({
      names: ['w-1', 'w-2', 'w-3'],
      labels: { disk: 'ssd', zone: 'a' },
      taints: [
        { key: 'gpu', value: 'true', effect: 'NoSchedule' },
        { key: 'dedicated', effect: 'NoExecute' },
      ],
      cpu: '8',
      memory: '16Gi',
      pods: 20,
    })
    expect(ok(['--master=http://x:1', '--node-name=kind-worker']).groups?.[0]?.names).toEqual(['kind-worker'])
  })

  it('refuses bad input with one line naming the flag', () => {
    const m = ['--master=http://x:1']
    expect(err([])).toBe(
      'invalid configuration: no configuration has been provided, try setting --kubeconfig or --master',
    )
    expect(err([...m, '--nodes=0'])).toBe('--nodes must be at least 1')
    expect(err([...m, '--node-taints=a=b:Sometimes'])).toMatch(
      /^--node-taints: "a=b:Sometimes": the effect must be/,
    )
    expect(err([...m, '--node-labels=novalue'])).toMatch(
      /^--node-labels: "novalue" is not a valid key=value label/,
    )
    expect(err([...m, '--node-cpu=lots'])).toBe('--node-cpu: "lots" is not a quantity')
    expect(err([...m, '--fail-nodes=zz'])).toBe('--fail-nodes: "zz" is not a simulated node')
    expect(err([...m, '--node-name=Bad_Name'])).toMatch(/^--node-name: "Bad_Name" is not a valid node name/)
    expect(err([...m, '--node-lease-renew-interval=21s'])).toBe(
      '--node-lease-renew-interval must be at most half of --node-lease-duration',
    )
    expect(err([...m, '--pod-start-delay=soon'])).toMatch(/invalid argument "soon" for "--pod-start-delay"/)
    expect(err([...m, '--config=f.yaml', '--nodes=2'])).toMatch(/^--config describes the node groups/)
    expect(err([...m, '--bind-address=1.2.3'])).toBe('--bind-address: "1.2.3" is not a valid IP address')
    expect(err([...m, '--bind-address=::1'])).toBe('--bind-address: "::1" is not a valid IPv4 address')
  })

  it('--config: a YAML list of groups', () => {
    const doc = parse(`
- count: 2
  prefix: ssd
  labels: {disk: ssd}
  taints: ["dedicated=db:NoSchedule", {key: x, effect: NoExecute}]
  capacity: {cpu: "16", memory: 64Gi, pods: 50}
- prefix: small
`)
    const groups = nodeGroupsFromDocument(doc, 'f.yaml')
    expect(groups).toEqual([
      {
        names: ['ssd-1', 'ssd-2'],
        labels: { disk: 'ssd' },
        taints: [
          { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
          { key: 'x', effect: 'NoExecute' },
        ],
        cpu: '16',
        memory: '64Gi',
        pods: 50,
      },
      { names: ['small-1'], labels: {}, taints: [], cpu: '32', memory: '256Gi', pods: 110 },
    ])
    expect(() => nodeGroupsFromDocument(parse('- prefix: a\n- prefix: a\n'), 'f.yaml')).toThrow(
      'node "a-1" is defined twice',
    )
    expect(() => nodeGroupsFromDocument(parse('- count: 1\n'), 'f.yaml')).toThrow(
      '--config: f.yaml: group 1: prefix is required',
    )
    expect(() => nodeGroupsFromDocument({}, 'f.yaml')).toThrow('expected a non-empty list of node groups')
  })
})
