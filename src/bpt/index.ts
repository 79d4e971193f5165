export { BptDecodeError, decodeBpt, encodeBpt, walkActivities, type BptActivity, type BptPackage } from './codec.js';
export { refusalProcess, robotActivityType, type RefusalProcessOptions } from './refusal.js';
