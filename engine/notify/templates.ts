// The one place that lists every email (SPEC §6) and renders it: subject, plain text and HTML from a queued
// notification's facts. PLACEHOLDER rendering until the email templates land (issue 4).
import type { Notification } from './types.ts';

/** What rendering needs besides the row. */
export interface RenderContext {
  /** Base URL for links (config `public_url`), no trailing slash. */
  publicUrl: string;
  /** The org's display name (`metadata.name`), or the org id when the org has no live policy. */
  orgName: (org: string) => string;
}

/** A rendered email. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/**
 * Renders a queued notification.
 * @throws EngineError `invalid_input` when the row's kind or data is not one this version renders.
 */
export function renderNotification(n: Notification, ctx: RenderContext): RenderedEmail {
  const subject = `[${ctx.orgName(n.org)}] ${n.kind}`;
  const text = `${n.kind}\n`;
  return { subject, text, html: `<p>${n.kind}</p>` };
}
