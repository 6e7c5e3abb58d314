import { describe, expect, it } from 'vitest';
import { compileTemplate } from './go-template.js';
import { renderDocuments, renderListing } from './listing.js';

const doc = {
  Id: 'abc123',
  Name: '/web',
  State: { Status: 'running', Running: true, ExitCode: 0 },
  Config: { Env: ['A=1', 'B=2'], Labels: { 'com.example.team': 'qa' } },
  NetworkSettings: { IPAddress: '', Networks: { bridge: { IPAddress: '172.17.0.2' }, 'minha-bridge': { IPAddress: '10.89.0.2' } } },
};
const t = (src: string, data: unknown = doc) => compileTemplate(src)(data);

describe('Go templates as --format takes them', () => {
  it('field paths, json, and Go printing', () => {
    expect(t('{{.State.Status}} {{.State.Running}} {{.Name}}')).toBe('running true /web');
    expect(t('{{json .Config.Env}}')).toBe('["A=1","B=2"]');
    expect(t('{{.Config.Env}}')).toBe('[A=1 B=2]');
    expect(t('{{.Config.Labels}}')).toBe('map[com.example.team:qa]');
    expect(t('{{.Nope}}')).toBe('<no value>');
    expect(t('{{json .}}')).toBe(JSON.stringify(doc));
  });

  it('range with variables, index, if/else, with, pipelines and functions', () => {
    expect(t('{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}')).toBe('172.17.0.2 10.89.0.2 ');
    expect(t('{{range $name, $n := .NetworkSettings.Networks}}{{$name}}={{$n.IPAddress}};{{end}}')).toBe('bridge=172.17.0.2;minha-bridge=10.89.0.2;');
    expect(t('{{index .Config.Labels "com.example.team"}}')).toBe('qa');
    expect(t('{{(index .NetworkSettings.Networks "bridge").IPAddress}}')).toBe('172.17.0.2');
    expect(t('{{if .State.Running}}up{{else}}down{{end}}')).toBe('up');
    expect(t('{{if eq .State.Status "exited"}}x{{else if eq .State.Status "running"}}r{{else}}?{{end}}')).toBe('r');
    expect(t('{{with .State}}{{.ExitCode}}{{end}}')).toBe('0');
    expect(t('{{.Name | upper}} {{join .Config.Env ","}} {{len .Config.Env}} {{printf "%s:%d" .Id 5}}')).toBe('/WEB A=1,B=2 2 abc123:5');
    expect(t('{{range .Config.Env -}} [{{.}}] {{- end}}')).toBe('[A=1][B=2]');
    expect(t('{{$.Id}}{{range .Config.Env}}{{$.Id}}{{end}}')).toBe('abc123abc123abc123');
  });

  it('says what is wrong with a template', () => {
    expect(() => t('{{.Name')).toThrow('--format: unclosed action');
    expect(() => t('{{if .Name}}x')).toThrow('missing {{end}}');
    expect(() => t('{{nosuch .Name}}')).toThrow('function "nosuch" not defined');
  });
});

describe('listings and documents', () => {
  const rows = [
    { ID: 'aaa', Names: 'web', Status: 'Up 2 minutes' },
    { ID: 'bbb', Names: 'db', Status: 'Exited (0) 1 second ago' },
  ];
  const spec = { columns: [['ID', 'CONTAINER ID'], ['Names', 'NAMES']] as [string, string][], quietField: 'ID', headers: { Status: 'STATUS' } };
  it('table, -q, json, a template and a table template with Docker\'s headers', () => {
    expect(renderListing(rows, spec, {})).toBe('CONTAINER ID   NAMES\naaa            web\nbbb            db\n');
    expect(renderListing(rows, spec, { quiet: true })).toBe('aaa\nbbb\n');
    expect(renderListing(rows, spec, { format: 'json' })).toBe(`${JSON.stringify(rows[0])}\n${JSON.stringify(rows[1])}\n`);
    expect(renderListing(rows, spec, { format: '{{.Names}}: {{.Status}}' })).toBe('web: Up 2 minutes\ndb: Exited (0) 1 second ago\n');
    expect(renderListing(rows, spec, { format: 'table {{.Names}}\\t{{.Status}}' })).toBe('NAMES   STATUS\nweb     Up 2 minutes\ndb      Exited (0) 1 second ago\n');
  });
  it('documents: an indented JSON array, or a template per document', () => {
    expect(JSON.parse(renderDocuments([doc], undefined))).toEqual([doc]);
    expect(renderDocuments([doc, doc], '{{.State.Status}}')).toBe('running\nrunning\n');
  });
});
