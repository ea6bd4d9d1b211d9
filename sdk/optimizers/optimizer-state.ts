import { QnnError } from '../errors.js';
import type { Parameter } from '../layers/layer.js';
import type { OptimizerState } from './optimizer.js';

/**
 * Reads per-parameter slots out of an optimizer's map (keyed by the parameter's
 * tensor) into the order of `parameters`, copying so later steps do not change the state.
 */
export function slotsOf<T extends Record<string, Float32Array>>(map: Map<Parameter['value'], T>, parameters: Parameter[]): (Record<string, Float32Array> | null)[] {
  return parameters.map((parameter) => {
    const slots = map.get(parameter.value);
    if (slots === undefined) return null;
    const copy: Record<string, Float32Array> = {};
    for (const [name, values] of Object.entries(slots)) copy[name] = values.slice();
    return copy;
  });
}

/**
 * Refills an optimizer's map from saved slots after checking the kind, the
 * slot names and each slot's length against the parameter it belongs to.
 */
export function restoreSlots<T extends Record<string, Float32Array>>(
  owner: string,
  state: OptimizerState,
  parameters: Parameter[],
  slotNames: readonly string[],
  map: Map<Parameter['value'], T>,
): void {
  if (state.slots.length !== parameters.length) {
    throw new QnnError(`${owner}.setState: the state has slots for ${state.slots.length} parameters, the model has ${parameters.length}`);
  }
  if (!Number.isInteger(state.step) || state.step < 0) throw new QnnError(`${owner}.setState: step must be a non-negative integer, got ${state.step}`);
  if (!Number.isFinite(state.learningRate)) throw new QnnError(`${owner}.setState: learningRate must be finite, got ${state.learningRate}`);

  const restored = new Map<Parameter['value'], T>();
  state.slots.forEach((slots, i) => {
    if (slots === null) return;
    const parameter = parameters[i];
    const entry: Record<string, Float32Array> = {};
    for (const name of slotNames) {
      const values = slots[name];
      if (values === undefined) throw new QnnError(`${owner}.setState: slot '${name}' of ${parameter.name} is missing`);
      if (values.length !== parameter.value.size) {
        throw new QnnError(`${owner}.setState: slot '${name}' of ${parameter.name} has ${values.length} values, the parameter has ${parameter.value.size}`);
      }
      entry[name] = values.slice();
    }
    restored.set(parameter.value, entry as T);
  });

  map.clear();
  for (const [key, value] of restored) map.set(key, value);
}

/** Throws unless `state` was written by an optimizer of kind `kind`. */
export function checkKind(owner: string, state: OptimizerState, kind: string): void {
  if (state.kind !== kind) throw new QnnError(`${owner}.setState: the state belongs to a '${state.kind}' optimizer, not '${kind}'; resume with the optimizer that wrote it`);
}

/** Throws when a saved hyperparameter differs from this optimizer's, because resuming would then not continue the same run. */
export function checkSettings(owner: string, state: OptimizerState, settings: Record<string, number>): void {
  for (const [name, value] of Object.entries(settings)) {
    const saved = state.settings[name];
    if (saved !== value) throw new QnnError(`${owner}.setState: ${name} was ${saved} when the state was saved, this optimizer has ${value}; build it with ${name}: ${saved} to resume`);
  }
}
