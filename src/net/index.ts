// Public surface of the transport for src/node and src/metrics.
export { Transport, type TransportOptions, type ValidatorInfo, type MessageHandler, type PeerHandler, type PeerStatus } from './transport.ts';
export { MsgType, MSG_TYPE_NAMES, msgTypeName, isAppType, isCriticalType, type AppMsgType, type CriticalMsgType, type MsgTypeName } from './messages.ts';
export { NetError, type NetErrorCode } from './errors.ts';
export type { TransportStats, TypeCounters } from './stats.ts';
export { publicKeyFromSeed, AUTH_DOMAIN_TAG } from './auth.ts';
export { parseAddress, formatAddress, type HostPort } from './address.ts';
export { DEFAULT_MAX_FRAME_BYTES } from './frame.ts';
