// The engine's public surface: everything the server, the CLI and other Node programs may use.
/**
 * @example
 * import { createEngine } from 'appwarden/engine';
 * const engine = createEngine({ policyDir: 'examples/policy-repo' });
 * await engine.load();                       // throws EngineError('invalid_policy', issues) on a bad repository
 * const d = engine.decide({
 *   subject: { type: 'user', id: 'U1', properties: { email: 'ann@acme.example', role: 'member' } },
 *   action: { name: 'app.connect' },
 *   resource: { type: 'app', id: '1204567890123456789' },
 *   context: { org: 'acme.example' },
 * });
 * console.log(d.decision, d.context.reason.code);
 */

export type { AppCatalog, CatalogApp } from '../schemas/app-catalog.gen.ts';
export {
  approveApp,
  blockApp,
  type EditResult,
  EXPIRATION_SETTINGS,
  type ExpirationSetting,
  editPolicy,
  editPolicyFiles,
  type PolicyEdit,
  type PolicySource,
  setExpiration,
  setPersonalAccessTokens,
  unblockApp,
  unifiedDiff,
} from './edit.ts';
export {
  buildBundle,
  computeRevision,
  createEngine,
  type Decision,
  type Engine,
  type EngineOptions,
  type LoadResult,
  loadAndValidate,
  type ReloadEvent,
  type ReloadStatus,
  toWireDecision,
} from './engine.ts';
export {
  EngineError,
  type EngineErrorCode,
  formatIssue,
  type Issue,
  isEngineError,
  sortIssues,
} from './errors.ts';
export { DEFAULT_WASM_PATH, ENTRYPOINT } from './evaluator.ts';
export {
  type AffectedToken,
  type Flip,
  type FlipGroup,
  type ImpactOptions,
  type ImpactRegistry,
  type ImpactReport,
  type ImpactSide,
  type OrgImpact,
  readDecisionsFile,
  registryFromDecisions,
  registryFromStore,
  renderImpactMarkdown,
  renderImpactText,
  replayImpact,
  storeDecisions,
} from './impact.ts';
export {
  ACTIONS,
  type ActionName,
  buildInput,
  type DecisionRequest,
  textProblem,
  validateRequest,
} from './input.ts';
export {
  composeGuestJoined,
  composeRequestCreated,
  composeRequestDenied,
  composeTokenExpiry,
  composeTokenRevoked,
  composeUsageExport,
  EXPIRED_NOTICE_DAYS,
  EXPIRY_WARNING_DAYS,
  requestRecipients,
  tokenOwnerEmail,
} from './notify/compose.ts';
export {
  EXPIRY_SWEEP_INTERVAL_MS,
  effectiveTokenExpiry,
  type SweepResult,
  sweepTokenExpiry,
} from './notify/sweep.ts';
export {
  EMAILS,
  type EmailSpec,
  emailsMarkdownTable,
  type RenderContext,
  type RenderedEmail,
  renderNotification,
} from './notify/templates.ts';
export {
  createMailTransport,
  hasSmtpServer,
  type MailTransport,
  type MailTransportOptions,
  type OutgoingEmail,
  redactSmtpSecrets,
  type SmtpSettings,
} from './notify/transport.ts';
export {
  type NewNotification,
  NOTIFICATION_STATUSES,
  type Notification,
  type NotificationAttachment,
  type NotificationKind,
  type NotificationStatus,
} from './notify/types.ts';
export {
  createNotificationWorker,
  KIND_HEADER,
  MAX_RETRY_SECONDS,
  type NotificationWorker,
  type NotificationWorkerOptions,
  notificationMessageId,
  retryDelaySeconds,
  retryRefusal,
  type WorkerLogger,
  type WorkerRunResult,
} from './notify/worker.ts';
export { escapePointer, unescapePointer } from './pointer.ts';
export {
  type AuthorProblem,
  type AuthorRole,
  CHANGE_KINDS,
  type ChangeKind,
  checkAuthor,
  type DiffSide,
  describeChange,
  diffOrg,
  diffPolicies,
  type GitTree,
  type OrgDiff,
  oneLine,
  type PolicyChange,
  type PolicyDiff,
  readGitTree,
  renderDiffMarkdown,
  renderDiffText,
} from './policy-diff.ts';
export {
  loadPolicyTests,
  POLICY_TEST_SCHEMA_ID,
  type PolicyTestCase,
  type PolicyTestCaseResult,
  type PolicyTestGot,
  type PolicyTestRun,
  type PolicyTestSuite,
  type PolicyTestSuiteResult,
  type PolicyTestWant,
  parsePolicyTestSuite,
  type RunPolicyTestsOptions,
  runPolicyTests,
  TESTS_DIR,
} from './policy-tests.ts';
export { ENGINE_REASON_CODES, type ReasonCode, SPEC_REASON_CODES } from './reasons.ts';
export type { DecisionLogOptions } from './store/decision-log.ts';
export {
  ACTIVE_MEMBER_DAYS,
  type ApprovalRequest,
  type AppUserUsage,
  type ConnectedApp,
  createDecisionLog,
  createMemoryStore,
  DEFAULT_STORE_PATH,
  type DecisionLog,
  type DecisionPage,
  type DecisionQuery,
  type DecisionRecord,
  type GoLiveRecord,
  type GoLiveResult,
  type ImportedHistory,
  importHistoryFile,
  MAX_DECISION_PAGE,
  type MemberBlockedApp,
  type MemberJoin,
  MIGRATIONS,
  type NewApprovalRequest,
  NOTIFICATION_PAGE,
  type NotificationQuery,
  type Notify,
  openStore,
  PAT_SWEEP,
  type RequestEvent,
  type RequestStatus,
  type Store,
  type TokenKind,
  type TokenQuery,
  type TokenRecord,
  type TokenRevocation,
  type TokenSighting,
  USAGE_DAYS,
  type UsageSighting,
} from './store/index.ts';
export { DAY, formatRfc3339, nowSeconds, parseRfc3339 } from './time.ts';
export type { DataDocument, OrgData, RegoDecision, RegoInput, SettingsEpoch } from './types.ts';
export {
  type BodyError,
  didYouMean,
  type IdentifiedSchema,
  pointerLabel,
  validateJsonBody,
  validateValue,
  validateYamlDocument,
} from './validator.ts';
export { createWatcher, type PolicyWatcher, type ReloadOutcome, type WatcherOptions } from './watcher.ts';
export { formatPath, type ParsedYaml, type PathSegment, type Position } from './yaml.ts';
