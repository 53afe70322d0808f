/**
 * Validates outgoing ARI events against the event models of the compact spec:
 * the type must be a known event model, required properties present, property types right,
 * and no properties the model does not define.
 */
import { allModels, type CompactModel, type CompactSpec } from './spec/ari-spec';

const ASTERISK_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$/;

export class EventValidator {
  private readonly models: Map<string, CompactModel>;
  private readonly eventTypes: Set<string>;

  constructor(spec: CompactSpec) {
    this.models = allModels(spec);
    this.eventTypes = new Set(spec.eventModels);
  }

  /** Returns problems; empty when the event is valid. */
  validate(event: Record<string, unknown>): string[] {
    const type = event.type;
    if (typeof type !== 'string') return ['event has no string "type"'];
    if (!this.eventTypes.has(type)) return [`unknown event type '${type}'`];
    const problems: string[] = [];
    this.checkObject(type, event, type, problems);
    return problems;
  }

  private propertiesOf(modelName: string): Map<string, { type: string; required: boolean; values?: string[] }> {
    const out = new Map<string, { type: string; required: boolean; values?: string[] }>();
    let cur: string | undefined = modelName;
    const chain: CompactModel[] = [];
    while (cur) {
      const m = this.models.get(cur);
      if (!m) break;
      chain.unshift(m);
      cur = m.extends;
    }
    for (const m of chain) {
      for (const [k, p] of Object.entries(m.properties)) {
        out.set(k, {
          type: p.type,
          required: p.required,
          values: p.allowableValues?.valueType === 'LIST' ? p.allowableValues.values : undefined,
        });
      }
    }
    return out;
  }

  private checkObject(modelName: string, obj: unknown, where: string, problems: string[]): void {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      problems.push(`${where}: expected ${modelName} object`);
      return;
    }
    const rec = obj as Record<string, unknown>;
    const props = this.propertiesOf(modelName);
    for (const [k, p] of props) {
      if (rec[k] === undefined) {
        if (p.required) problems.push(`${where}.${k}: required property missing`);
        continue;
      }
      this.checkValue(p.type, rec[k], `${where}.${k}`, problems, p.values);
    }
    for (const k of Object.keys(rec)) {
      if (!props.has(k)) problems.push(`${where}.${k}: property not defined by model ${modelName}`);
    }
  }

  private checkValue(type: string, v: unknown, where: string, problems: string[], values?: string[]): void {
    const list = /^List\[(.+)\]$/.exec(type);
    if (list) {
      if (!Array.isArray(v)) problems.push(`${where}: expected ${type}`);
      else v.forEach((x, i) => this.checkValue(list[1], x, `${where}[${i}]`, problems));
      return;
    }
    switch (type) {
      case 'string':
        if (typeof v !== 'string') problems.push(`${where}: expected string, got ${typeof v}`);
        else if (values && !values.includes(v)) problems.push(`${where}: '${v}' not one of [${values.join(', ')}]`);
        return;
      case 'int':
      case 'long':
        if (typeof v !== 'number' || !Number.isInteger(v)) problems.push(`${where}: expected integer, got ${JSON.stringify(v)}`);
        return;
      case 'double':
        if (typeof v !== 'number') problems.push(`${where}: expected number`);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') problems.push(`${where}: expected boolean, got ${JSON.stringify(v)}`);
        return;
      case 'Date':
        if (typeof v !== 'string' || !ASTERISK_DATE.test(v))
          problems.push(`${where}: expected Asterisk date string, got ${JSON.stringify(v)}`);
        return;
      case 'object':
        if (typeof v !== 'object' || v === null || Array.isArray(v)) problems.push(`${where}: expected object`);
        return;
      default:
        if (this.models.has(type)) this.checkObject(type, v, where, problems);
        else problems.push(`${where}: unknown type ${type}`);
    }
  }
}
