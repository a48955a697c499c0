// Public surface of the model: types shared by every module.
export * from './source';
export * from './vocabulary';
export * from './config';
export * from './quorum';
export * from './health';
