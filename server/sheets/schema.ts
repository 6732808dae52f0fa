/**
 * Validates a parsed sheet against character-sheets/schema.json (the same file editors use for completion) and
 * turns Ajv's errors into author-facing issues: one per problem, at the key or value it concerns, with a hint.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BUILTIN_VOICES } from '../persona/persona.ts';
import type { SheetIssue } from './issues.ts';
import type { ParsedSheet, PropPath } from './parse.ts';
import { closest } from './suggest.ts';

export const SCHEMA_PATH = fileURLToPath(new URL('../../character-sheets/schema.json', import.meta.url));

let validator: ValidateFunction | undefined;
let schemaObject: object | undefined;
function schemaJson(): object {
  schemaObject ??= JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object;
  return schemaObject;
}
function getValidator(): ValidateFunction {
  if (!validator) {
    const schema = schemaJson();
    // verbose: errors carry their parentSchema (for listing allowed fields) and the offending data
    validator = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true }).compile(schema);
  }
  return validator;
}

/** Example lines used as hints for missing fields. */
const EXAMPLES: Record<string, string> = {
  id: 'id: alex  (the file name without .yaml)',
  name: 'name: Alex',
  role: 'role: Reactor systems astronaut',
  voice: `voice: NATF2  (one of the 18 voices, or a path to a .wav)`,
  persona: 'persona: with at least "background: You are …"',
  rehearsal: 'rehearsal: with greeting, lines, backchannels and after_interruption',
  background: 'background: You are an astronaut on a Mars mission.',
  greeting: 'greeting: Hey. You picked a bad day to visit engineering.',
  lines: 'lines: a list of lines, said in order',
  backchannels: 'backchannels: [mm-hm, right, go on]',
  after_interruption: 'after_interruption: Sorry, go ahead.',
  asks: "asks: [what's (wrong | going on) with the reactor]",
  answers: 'answers: [The core is overheating.]',
};

export const VOICE_HINT = 'NATF0–NATF3, NATM0–NATM3, VARF0–VARF4, VARM0–VARM4 (NAT natural, VAR variety; F/M), or a path to a .wav relative to the sheet';

/** `skip`: JSON pointers (e.g. "/persona") already reported by a clearer check; errors at or under them are dropped. */
export function validateAgainstSchema(parsed: ParsedSheet, skip: string[] = []): SheetIssue[] {
  const validate = getValidator();
  if (validate(parsed.value)) return [];
  const skipped = (e: ErrorObject) => {
    const target = e.keyword === 'required' ? `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}` : e.instancePath;
    return skip.some((p) => target === p || target.startsWith(`${p}/`));
  };
  const narrowed = narrowAnyOf(validate.errors ?? [], parsed.value).filter((e) => !skipped(e));
  // a value of the wrong type fails every other rule too; say only that its type is wrong
  const wrongType = new Set(narrowed.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const errors = narrowed.filter((e) => e.keyword === 'type' || e.keyword === 'required' || e.keyword === 'additionalProperties' || !wrongType.has(e.instancePath));
  const issues: SheetIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const issue = describe(e, parsed);
    if (!issue) continue;
    const key = `${issue.line}:${issue.column}:${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}

function toPath(instancePath: string): PropPath {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function fieldLabel(path: PropPath): string {
  if (path.length === 0) return 'the sheet';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function getAt(value: unknown, path: PropPath): unknown {
  let v = value;
  for (const seg of path) v = v == null ? undefined : (v as Record<string | number, unknown>)[seg];
  return v;
}

function jsType(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isFinite(v)) return 'infinite';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

/**
 * An anyOf failure reports every branch's errors. Keep only the branch whose type matches the value (so a bad
 * list item is reported as such), or collapse to the anyOf error itself when no branch or several match.
 * Branches are told apart by the value, not by schemaPath: Ajv reports $ref'd errors with the ref's own path.
 */
function narrowAnyOf(errors: ErrorObject[], value: unknown): ErrorObject[] {
  let out = errors;
  for (const any of errors.filter((e) => e.keyword === 'anyOf')) {
    const at = any.instancePath;
    const under = (e: ErrorObject) => e !== any && (e.instancePath === at || e.instancePath.startsWith(`${at}/`));
    const got = jsType(getAt(value, toPath(at)));
    const branches = (Array.isArray(any.schema) ? any.schema : []) as object[];
    const matching = branches.filter((b) => {
      const t = branchType(b);
      return t === undefined || t === got || (t === 'number' && got === 'integer');
    });
    if (matching.length === 1 && branchType(matching[0]!) !== undefined) {
      // the value has the one right type: report what is wrong inside it, not the other branches' type errors
      out = out.filter((e) => e !== any && !(under(e) && e.keyword === 'type' && e.instancePath === at));
    } else {
      out = out.filter((e) => !under(e));
    }
  }
  return out;
}

function branchType(branch: object): string | undefined {
  let b = branch as { $ref?: string; type?: string };
  if (b.$ref) b = resolveRef(b.$ref) ?? {};
  return typeof b.type === 'string' ? b.type : undefined;
}

function resolveRef(ref: string): { type?: string } | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = schemaJson();
  for (const seg of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[seg];
  return node as { type?: string } | undefined;
}

function typeWords(t: string): string {
  switch (t) {
    case 'string':
      return 'text';
    case 'number':
    case 'integer':
      return t === 'integer' ? 'a whole number' : 'a number';
    case 'boolean':
      return 'true or false';
    case 'infinite':
      return 'a number too large to use';
    case 'array':
      return 'a list';
    case 'object':
      return 'a group of fields';
    default:
      return t;
  }
}

function describe(e: ErrorObject, parsed: ParsedSheet): SheetIssue | undefined {
  const path = toPath(e.instancePath);
  const field = fieldLabel(path);
  const last = path[path.length - 1];
  const at = (p: PropPath, key = false) => ({ file: parsed.file, ...(key ? parsed.keyAt(p) : parsed.valueAt(p)) });
  const data = getAt(parsed.value, path);

  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const guess = closest(extra, allowed);
      return {
        ...at([...path, extra], true),
        message: `unknown field "${extra}"${path.length ? ` in ${field}` : ''}`,
        hint: guess ? `did you mean "${guess}"?` : `allowed here: ${allowed.join(', ')}`,
      };
    }
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      return {
        ...at(path, true),
        message: `missing field "${missing}"${path.length ? ` in ${field}` : ''}`,
        hint: EXAMPLES[missing] ? `add ${EXAMPLES[missing]}` : undefined,
      };
    }
    case 'type': {
      const want = String((e.params as { type: string }).type).split(',');
      const got = jsType(data);
      const wantWords = want.map(typeWords).join(' or ');
      if (got === 'empty') {
        return { ...at(path, true), message: `${field} is empty`, hint: `write ${wantWords} here, or remove the field` };
      }
      return {
        ...at(path),
        message: `${field} must be ${wantWords}, not ${typeWords(got)}`,
        hint:
          want.includes('string') && ['number', 'integer', 'boolean'].includes(got)
            ? 'put the value in quotes'
            : want.includes('number') || want.includes('integer')
              ? `write a plain number${String(last).endsWith('radius') ? ' of metres, e.g. 6' : ''}`
              : want.includes('array')
                ? 'write a list: one "- item" per line, or [a, b, c]'
                : undefined,
      };
    }
    case 'anyOf': {
      if (last === 'voice') {
        const guess = typeof data === 'string' ? closest(data, BUILTIN_VOICES) : undefined;
        return {
          ...at(path),
          message: `unknown voice ${JSON.stringify(data)}`,
          hint: guess ? `did you mean ${guess}? Voices: ${VOICE_HINT}` : `voices: ${VOICE_HINT}`,
        };
      }
      if (last === 'hears_npcs') {
        return { ...at(path), message: `${field} must be true, false or a list of NPC ids, not ${typeWords(jsType(data))}`, hint: 'e.g. hears_npcs: [vance, alex]' };
      }
      return {
        ...at(path),
        message: `${field} must be a sentence or a list of sentences, not ${typeWords(jsType(data))}`,
        hint: 'write plain text after the colon, or a list with one "- sentence" per line',
      };
    }
    case 'pattern':
    case 'minLength': {
      if (typeof data === 'string' && data.trim() === '') {
        return { ...at(path), message: `${field} is empty`, hint: 'write some text here, or remove the field if it is optional' };
      }
      if (last === 'id') {
        return {
          ...at(path),
          message: `id ${JSON.stringify(data)} is not a valid id`,
          hint: 'use lowercase letters, digits and dashes, starting with a letter (e.g. "flight-surgeon")',
        };
      }
      return { ...at(path), message: `${field} ${e.message}` };
    }
    case 'maxLength':
      return {
        ...at(path),
        message: `${field} is too long (${typeof data === 'string' ? data.length : '?'} characters; at most ${(e.params as { limit: number }).limit})`,
        hint: 'a duplex model follows short, concrete sentences best; split or trim it',
      };
    case 'minItems':
      return { ...at(path), message: `${field} needs at least ${(e.params as { limit: number }).limit} item(s)` };
    case 'maxItems':
      return { ...at(path), message: `${field} has too many items (at most ${(e.params as { limit: number }).limit})` };
    case 'exclusiveMinimum':
    case 'minimum':
    case 'maximum':
      return { ...at(path), message: `${field} ${e.message}`, hint: last?.toString().endsWith('radius') ? 'distances are in metres' : undefined };
    case 'enum': {
      const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues ?? [];
      return { ...at(path), message: `${field} cannot be ${JSON.stringify(data)}`, hint: `one of: ${allowed.join(', ')}` };
    }
    default:
      return { ...at(path), message: `${field} ${e.message ?? 'is invalid'}` };
  }
}
