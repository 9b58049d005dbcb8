import { bodyOf, json, standIn } from './common.ts';

export const MISP_KEY = 'misp-automation-key-40chars-xxxxxxxxxxxx';

/** MISP: Authorization: <key>; 403 { name, message, url } on bad keys and refused writes. */
export function mispStandIn() {
  const events: Array<Record<string, unknown>> = [];
  const attributes: Array<Record<string, unknown>> = [{ id: '7', event_id: '1', type: 'ip-src', category: 'Network activity', value: '203.0.113.66', to_ids: true, timestamp: '1700000000', comment: '', Event: { info: 'Known C2' } }];
  const sightings: Array<Record<string, unknown>> = [];
  const s = standIn((req, res, url) => {
    if (req.headers.authorization !== MISP_KEY) return json(res, 403, { name: 'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.', message: 'Authentication failed.', url: url.pathname });
    const b = bodyOf(req);
    if (url.pathname === '/attributes/restSearch') {
      const hits = attributes.filter((a) => (!b.value || a.value === b.value) && (!b.type || a.type === b.type) && (!b.eventid || a.event_id === b.eventid));
      return json(res, 200, { response: { Attribute: hits } });
    }
    const add = /^\/attributes\/add\/(\w+)$/.exec(url.pathname);
    if (add) {
      if (attributes.some((a) => a.event_id === add[1] && a.value === b.value && a.type === b.type)) {
        return json(res, 403, { saved: false, name: 'Could not add Attribute', message: 'Could not add Attribute', url: url.pathname, errors: { value: ['A similar attribute already exists for this event.'] } });
      }
      const a = { id: String(100 + attributes.length), event_id: add[1], ...b };
      attributes.push(a);
      return json(res, 200, { Attribute: a });
    }
    if (url.pathname === '/sightings/add') {
      sightings.push(b);
      return json(res, 200, { Sighting: { id: String(sightings.length), value: b.value, type: b.type } });
    }
    if (url.pathname === '/events/add') {
      const ev = b.Event as Record<string, unknown>;
      if (events.some((e) => e.uuid === ev.uuid)) return json(res, 403, { name: 'Event already exists', message: 'Event already exists, if you would like to edit it, use the url in the location field.', url: '/events/view/' + String(ev.uuid) });
      const e = { ...ev, id: String(events.length + 1) };
      events.push(e);
      return json(res, 200, { Event: e });
    }
    const view = /^\/events\/view\/(.+)$/.exec(url.pathname);
    const e = view && events.find((x) => x.uuid === view[1] || x.id === view[1]);
    if (e) return json(res, 200, { Event: e });
    json(res, 404, { name: 'Not Found', message: 'Not Found', url: url.pathname });
  });
  return s.then((x) => ({ ...x, events, attributes, sightings }));
}
