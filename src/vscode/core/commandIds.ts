// Command ids contributed in package.json (checked by test/unit/vscode/settings.test.ts). vscode-free so
// tests and the end-to-end suite can import them.
export const COMMANDS = {
  toggle: 'moeLens.toggle',
  triggerNow: 'moeLens.triggerNow',
  selectModel: 'moeLens.selectModel',
  convertCheckpoint: 'moeLens.convertCheckpoint',
  showModelInfo: 'moeLens.showModelInfo',
  showLog: 'moeLens.showLog',
  showRoutingPanel: 'moeLens.showRoutingPanel',
  analyzeSelection: 'moeLens.analyzeSelection',
  analyzeFile: 'moeLens.analyzeFile',
  analyzeWorkspace: 'moeLens.analyzeWorkspace',
  explainSelection: 'moeLens.explainSelection',
} as const;

/** Internal commands: registered, not contributed (not in the command palette). */
export const INTERNAL_COMMANDS = {
  statusMenu: 'moeLens.statusMenu',
  acceptedSuggestion: 'moeLens.acceptedSuggestion',
} as const;
