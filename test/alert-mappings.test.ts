import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadHooks, mapPayload, sign, verifyDelivery } from '../engine/alerts/hooks.ts';

const SECRET = 'a-secret-of-sixteen+';
const hooks = loadHooks({
  SOAR_HOOK_SPLUNK_SECRET: SECRET,
  SOAR_HOOK_SENTINEL_SECRET: SECRET,
  SOAR_HOOK_DEFENDER_SECRET: SECRET,
  SOAR_HOOK_DEFENDER_MAPPING: 'sentinel',
  SOAR_HOOK_EDR_X_SECRET: SECRET,
  SOAR_HOOK_EDR_X_MAPPING: '{"id": "x-" & detection.id, "title": detection.name, "severity": detection.level, "data": $}',
});
const hook = (name: string) => {
  const h = hooks.get(name);
  assert.ok(h, `hook ${name} is configured`);
  return h;
};

describe('webhook mappings and signatures', () => {
  it('maps a Splunk alert action payload: severity from urgency, dedup key from the search and the source', async () => {
    const a = await mapPayload(hook('splunk'), { sid: 'rt_1', search_name: 'Impossible travel', app: 'es', results_link: 'https://s/1', result: { src: '198.51.100.7', urgency: 'Critical' } }, {});
    assert.equal(a.id, 'splunk-rt_1');
    assert.equal(a.title, 'Impossible travel');
    assert.equal(a.severity, 'critical');
    assert.equal(a.source, 'splunk');
    assert.deepEqual(a.tags, ['splunk', 'es']);
    assert.equal(a.dedup_key, 'splunk:Impossible travel:198.51.100.7');
    const info = await mapPayload(hook('splunk'), { sid: 'rt_2', search_name: 'S', result: { severity: 'informational' } }, {});
    assert.equal(info.severity, 'low');
    assert.deepEqual(info.tags, ['splunk'], 'one tag is still a list');
    const bare = await mapPayload(hook('sentinel'), { object: { name: 'g-2', properties: { title: 'No labels', severity: 'Low' } } }, {});
    assert.deepEqual([bare.id, bare.tags], ['sentinel-g-2', ['sentinel']]);
  });

  it('maps a Sentinel incident and a Defender incident', async () => {
    const s = await mapPayload(
      hook('sentinel'),
      { object: { name: 'f3c1', properties: { title: 'Mass download', severity: 'High', incidentNumber: 1042, labels: [{ labelName: 'exfil' }], description: 'd' } } },
      {},
    );
    assert.deepEqual([s.id, s.title, s.severity, s.source, s.tags], ['sentinel-1042', 'Mass download', 'high', 'sentinel', ['sentinel', 'exfil']]);
    const d = await mapPayload(hook('defender'), { incidentId: 77, displayName: 'Ransomware on host', severity: 'medium', tags: ['ransomware'] }, {});
    assert.deepEqual([d.id, d.title, d.severity, d.source, d.tags], ['defender-77', 'Ransomware on host', 'medium', 'defender', ['defender', 'ransomware']]);
  });

  it('a custom mapping that makes no valid alert is a 400 naming the fields', async () => {
    const ok = await mapPayload(hook('edr-x'), { detection: { id: 5, name: 'Mimikatz', level: 'high' } }, {});
    assert.equal(ok.id, 'x-5');
    await assert.rejects(mapPayload(hook('edr-x'), { detection: { id: 6, name: 'n', level: 'severe' } }, {}), (err: { code?: string; details?: Array<{ field?: string }> }) => {
      assert.equal(err.code, 'BAD_REQUEST');
      assert.equal(err.details?.[0]?.field, 'severity');
      return true;
    });
  });

  it('refuses weak secrets and mappings that are not jsonata at start-up', () => {
    assert.throws(() => loadHooks({ SOAR_HOOK_A_SECRET: 'short' }), /at least 16/);
    assert.throws(() => loadHooks({ SOAR_HOOK_A_SECRET: SECRET, SOAR_HOOK_A_MAPPING: '{ "id": ' }), /not valid jsonata/);
  });

  it('verifies the signature over timestamp and raw body, within the window', () => {
    const body = Buffer.from('{"title":"t","severity":"low"}');
    const now = new Date('2026-11-23T12:00:00Z');
    const ts = String(now.getTime() / 1000);
    const good = { body, timestamp: ts, signature: sign(SECRET, ts, body), deliveryId: 'd-1', remoteIp: '127.0.0.1' };
    assert.deepEqual(verifyDelivery(hook('splunk'), good, now, 300), { deliveryId: 'd-1' });
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    assert.equal(code(() => verifyDelivery(hook('splunk'), { ...good, body: Buffer.from('{"title":"t","severity":"high"}') }, now, 300)), 'UNAUTHORIZED');
    assert.equal(code(() => verifyDelivery(hook('splunk'), { ...good, signature: good.signature.toUpperCase() }, now, 300)), 'UNAUTHORIZED');
    assert.equal(code(() => verifyDelivery(hook('splunk'), good, new Date(now.getTime() + 301_000), 300)), 'UNAUTHORIZED');
    assert.equal(code(() => verifyDelivery(hook('splunk'), good, new Date(now.getTime() - 301_000), 300)), 'UNAUTHORIZED', 'a timestamp from the future is refused too');
    assert.equal(code(() => verifyDelivery(hook('splunk'), { ...good, deliveryId: undefined }, now, 300)), 'UNAUTHORIZED');
    assert.equal(code(() => verifyDelivery({ ...hook('splunk'), allowIps: ['10.0.0.1'] }, { ...good, remoteIp: '::ffff:10.0.0.1' }, now, 300)), 'ok');
    assert.equal(code(() => verifyDelivery({ ...hook('splunk'), allowIps: ['10.0.0.1'] }, good, now, 300)), 'FORBIDDEN');
  });
});
