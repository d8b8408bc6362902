/**
 * @mcap/core ships a CommonJS build, but its package.json points TypeScript at the ESM types
 * only, which a CommonJS project may not import. So the types come in with resolution-mode
 * "import" and the values through require(), here and nowhere else.
 */
import type * as Mcap from '@mcap/core' with { 'resolution-mode': 'import' }

import { useNativeCrc32 } from './native-crc32'

const core = require('@mcap/core') as typeof Mcap
// Every file this process reads and checks (and McapWriter's, in tests and benchmarks): the same
// CRC values, computed natively.
useNativeCrc32()

export const McapWriter = core.McapWriter
export type McapWriter = Mcap.McapWriter
export const McapRecordBuilder = core.McapRecordBuilder
export const Opcode = core.Opcode
export const MCAP_MAGIC = core.MCAP_MAGIC
export type { McapTypes } from '@mcap/core' with { 'resolution-mode': 'import' }
export const McapIndexedReader = core.McapIndexedReader
export type McapIndexedReader = Mcap.McapIndexedReader
export type DecompressHandlers = Mcap.DecompressHandlers
export type Statistics = Mcap.McapTypes.Statistics
export type MessageRecord = Mcap.McapTypes.TypedMcapRecords['Message']
