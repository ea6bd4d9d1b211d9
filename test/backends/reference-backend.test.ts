// The packed-kernel field cases on the reference backend, the oracle the other backends are compared with.
import { describe } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { definePackedFieldCases } from './packed-field-cases.js';

const backend = new ReferenceBackend();

describe('reference packed field cases', () => {
  definePackedFieldCases(() => backend);
});
