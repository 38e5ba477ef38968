export { onSignals, RELOAD_SIGNAL, type SignalHandlers, type Signals } from './on-signals.js';
export { onStopSignals, STOP_SIGNALS, type StopSignalOptions, type StopSignals } from './stop.js';
