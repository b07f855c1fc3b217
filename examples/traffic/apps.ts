// The catalog of third-party apps the example traffic connects and uses: widely used SaaS
// integrations with plausible marketplace ids, developers and OAuth scopes.

/** One third-party app as a marketplace lists it. */
export interface CatalogApp {
  /** App id as the platform's marketplace assigns it; always a string (long numeric ids lose digits as numbers). */
  id: string;
  name: string;
  developer: string;
  /** OAuth scopes the app asks for when it is connected (SPEC §4 `app.connect` `resource.properties.scopes`). */
  scopes: string[];
  /** Relative share of the traffic that goes to this app (popular apps are used far more often). */
  weight: number;
}

/**
 * The example app catalog. The ids used in `examples/policy-repo/orgs/*.yaml` (blocked and approved
 * lists) come from here; `test/examples.test.ts` checks that they agree.
 */
export const APPS: readonly CatalogApp[] = [
  {
    id: 'A0F7XDUAZ',
    name: 'Slack',
    developer: 'Slack Technologies, LLC',
    scopes: ['channels:read', 'chat:write', 'users:read', 'files:write'],
    weight: 120,
  },
  {
    id: '1048577935912',
    name: 'Zoom',
    developer: 'Zoom Video Communications, Inc.',
    scopes: ['meeting:read', 'meeting:write', 'user:read', 'recording:read'],
    weight: 90,
  },
  {
    id: '407408718192',
    name: 'Google Drive',
    developer: 'Google LLC',
    scopes: ['https://www.googleapis.com/auth/drive.file', 'https://www.googleapis.com/auth/drive.readonly'],
    weight: 100,
  },
  {
    id: '1204567890123456789',
    name: 'Dropbox',
    developer: 'Dropbox, Inc.',
    scopes: ['files.content.read', 'files.content.write', 'sharing.write', 'account_info.read'],
    weight: 35,
  },
  {
    id: 'jira-cloud-001',
    name: 'Jira Cloud',
    developer: 'Atlassian Pty Ltd',
    scopes: ['read:jira-work', 'write:jira-work', 'read:jira-user', 'offline_access'],
    weight: 70,
  },
  {
    id: 'Iv1.8a61f9b3a7aba766',
    name: 'GitHub',
    developer: 'GitHub, Inc.',
    scopes: ['repo', 'read:org', 'workflow', 'read:user'],
    weight: 75,
  },
  {
    id: '3MVG9A2kN3Bn17hs',
    name: 'Salesforce',
    developer: 'Salesforce, Inc.',
    scopes: ['api', 'refresh_token', 'chatter_api', 'id'],
    weight: 45,
  },
  {
    id: '1760320',
    name: 'HubSpot',
    developer: 'HubSpot, Inc.',
    scopes: ['crm.objects.contacts.read', 'crm.objects.contacts.write', 'oauth', 'timeline'],
    weight: 30,
  },
  {
    id: 'zapier-platform',
    name: 'Zapier',
    developer: 'Zapier, Inc.',
    scopes: ['read', 'write', 'webhooks:write', 'offline_access'],
    weight: 28,
  },
  {
    id: '0932715240017864021',
    name: 'Calendly',
    developer: 'Calendly LLC',
    scopes: ['default', 'calendar:read', 'calendar:write'],
    weight: 25,
  },
  {
    id: 'docusign-esign-2',
    name: 'DocuSign eSignature',
    developer: 'DocuSign, Inc.',
    scopes: ['signature', 'extended', 'impersonation'],
    weight: 18,
  },
  {
    id: '3458764513820540928',
    name: 'Miro',
    developer: 'RealtimeBoard, Inc. dba Miro',
    scopes: ['boards:read', 'boards:write', 'identity:read'],
    weight: 22,
  },
  {
    id: 'figma-oauth-77',
    name: 'Figma',
    developer: 'Figma, Inc.',
    scopes: ['file_read', 'file_comments:write', 'webhooks:write'],
    weight: 26,
  },
  {
    id: '1129834759201',
    name: 'Loom',
    developer: 'Loom, Inc.',
    scopes: ['recordings:read', 'recordings:write', 'workspace:read'],
    weight: 20,
  },
  {
    id: 'notion-public-int',
    name: 'Notion',
    developer: 'Notion Labs, Inc.',
    scopes: ['read_content', 'update_content', 'insert_content', 'read_user_with_email'],
    weight: 40,
  },
  {
    id: 'trello-power-up-5f',
    name: 'Trello',
    developer: 'Atlassian Pty Ltd',
    scopes: ['read', 'write', 'account'],
    weight: 15,
  },
  {
    id: '1199786312004917',
    name: 'Asana',
    developer: 'Asana, Inc.',
    scopes: ['default', 'openid', 'email', 'tasks:write'],
    weight: 24,
  },
  {
    id: 'mailchimp-mkt-3',
    name: 'Mailchimp',
    developer: 'Intuit Mailchimp',
    scopes: ['audiences:read', 'campaigns:write', 'reports:read'],
    weight: 10,
  },
  {
    id: 'typeform-conn-9',
    name: 'Typeform',
    developer: 'Typeform SL',
    scopes: ['forms:read', 'responses:read', 'webhooks:write', 'accounts:read'],
    weight: 12,
  },
  {
    id: '0020948170223',
    name: 'SurveyMonkey',
    developer: 'SurveyMonkey Inc.',
    scopes: ['surveys_read', 'responses_read', 'responses_read_detail', 'users_read'],
    weight: 9,
  },
  {
    id: 'intercom-app-414',
    name: 'Intercom',
    developer: 'Intercom, Inc.',
    scopes: ['read_users', 'write_conversations', 'read_conversations'],
    weight: 14,
  },
  {
    id: 'zendesk-support-1',
    name: 'Zendesk Support',
    developer: 'Zendesk, Inc.',
    scopes: ['read', 'write', 'tickets:read', 'tickets:write'],
    weight: 16,
  },
  {
    id: '584361057623',
    name: 'Gmail',
    developer: 'Google LLC',
    scopes: ['https://www.googleapis.com/auth/gmail.readonly', 'https://www.googleapis.com/auth/gmail.send'],
    weight: 60,
  },
  {
    id: '9e5f94bc-e8a4-4e73-b8be-63364c29d753',
    name: 'Microsoft Outlook',
    developer: 'Microsoft Corporation',
    scopes: ['Mail.Read', 'Mail.Send', 'Calendars.ReadWrite', 'offline_access'],
    weight: 50,
  },
  {
    id: '5e3ce6c0-2b1f-4285-8d4b-75ee78787346',
    name: 'Microsoft Teams',
    developer: 'Microsoft Corporation',
    scopes: ['Chat.ReadWrite', 'ChannelMessage.Send', 'User.Read', 'Team.ReadBasic.All'],
    weight: 55,
  },
  {
    id: 'box-content-api',
    name: 'Box',
    developer: 'Box, Inc.',
    scopes: ['root_readwrite', 'manage_webhook', 'manage_managed_users'],
    weight: 17,
  },
  {
    id: '7302918465102937461',
    name: 'Airtable',
    developer: 'Formagrid Inc. dba Airtable',
    scopes: ['data.records:read', 'data.records:write', 'schema.bases:read'],
    weight: 19,
  },
  {
    id: 'tableau-cloud-cx',
    name: 'Tableau Cloud',
    developer: 'Salesforce, Inc. (Tableau)',
    scopes: ['tableau:content:read', 'tableau:views:embed', 'tableau:users:read'],
    weight: 11,
  },
  {
    id: '871c010f-5e61-4fb1-83ac-98610a7e9110',
    name: 'Power BI',
    developer: 'Microsoft Corporation',
    scopes: ['Dataset.Read.All', 'Report.Read.All', 'Workspace.Read.All'],
    weight: 13,
  },
  {
    id: 'twilio-sendgrid-8',
    name: 'Twilio SendGrid',
    developer: 'Twilio Inc.',
    scopes: ['mail.send', 'templates.read', 'stats.read'],
    weight: 8,
  },
  {
    id: '0417263958821',
    name: 'Grammarly',
    developer: 'Grammarly, Inc.',
    scopes: ['documents:read', 'documents:write', 'profile:read'],
    weight: 21,
  },
  {
    id: 'wetransfer-share',
    name: 'WeTransfer',
    developer: 'WeTransfer B.V.',
    scopes: ['transfers:write', 'files:upload'],
    weight: 7,
  },
  {
    id: 'chatgpt-connectors',
    name: 'ChatGPT',
    developer: 'OpenAI, L.L.C.',
    scopes: ['files:read', 'calendar:read', 'mail:read'],
    weight: 27,
  },
  {
    id: '6651200937485516',
    name: 'Canva',
    developer: 'Canva Pty Ltd',
    scopes: ['design:content:read', 'design:content:write', 'asset:read'],
    weight: 14,
  },
];

/** The catalog keyed by app id. */
export const APPS_BY_ID: ReadonlyMap<string, CatalogApp> = new Map(APPS.map((a) => [a.id, a]));
