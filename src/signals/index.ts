export { onStopSignals, STOP_SIGNALS, type StopSignalOptions, type StopSignals } from './stop.js';
