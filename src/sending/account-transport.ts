/**
 * Opens the transport of one account: decrypts its credentials (and its sender domain's DKIM
 * key) with the credential cipher and lets loadTransport load only the module it needs.
 * Used by the worker at start and by the sweeper for Sent-mail lookups. Secrets stay in
 * memory only; errors name what is wrong, never a value (invariant 6).
 */
import type { CredentialCipher } from '../crypto/credential-cipher';
import type { DbOrTx } from '../db/connection';
import type { SenderAccount } from '../db/database';
import { loadTransport, type LoadTransportOptions } from '../transports/load-transport';
import type { Transport } from '../transports/transport';
import { senderDomainOf } from './limits';

export class AccountTransportError extends Error {
  override name = 'AccountTransportError';
}

/**
 * The key of the account's address's domain, only when that domain is its own client's: a key
 * is never found through a domain name alone, so no client can sign with another's.
 */
export async function loadDkimFor(db: DbOrTx, account: Pick<SenderAccount, 'client_id' | 'email'>, cipher: CredentialCipher): Promise<LoadTransportOptions['dkim']> {
  const domain = await db
    .selectFrom('sender_domains')
    .select(['domain', 'dkim_selector', 'dkim_private_key_encrypted'])
    .where('client_id', '=', account.client_id)
    .where((eb) => eb(eb.fn('lower', ['domain']), '=', senderDomainOf(account.email)))
    .executeTakeFirst();
  if (!domain?.dkim_selector || !domain.dkim_private_key_encrypted) return undefined;
  return { domainName: domain.domain.toLowerCase(), keySelector: domain.dkim_selector, privateKey: cipher.decrypt(domain.dkim_private_key_encrypted) };
}

/** The Gmail API and token endpoints the configuration names (Google's, or a test's emulator). */
export function gmailEndpoints(config: { gmail: { apiRootUrl: string; tokenUrl: string } }): Pick<LoadTransportOptions, 'gmailRootUrl' | 'gmailTokenUrl'> {
  return { gmailRootUrl: config.gmail.apiRootUrl, gmailTokenUrl: config.gmail.tokenUrl };
}

export function transportForAccount(account: SenderAccount, cipher: CredentialCipher, options: LoadTransportOptions = {}): Transport {
  let credentials: unknown;
  if (account.credentials_encrypted) {
    try {
      credentials = cipher.decrypt(account.credentials_encrypted);
    } catch (error) {
      throw new AccountTransportError(`credentials of account ${account.id} cannot be decrypted: ${(error as Error).message}`);
    }
  }
  return loadTransport(account, credentials, options);
}

/** For the sweeper: undefined when the account is gone. */
export async function openAccountTransport(db: DbOrTx, accountId: string, cipher: CredentialCipher, options: LoadTransportOptions = {}): Promise<Transport | undefined> {
  const account = await db.selectFrom('sender_accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
  if (!account) return undefined;
  const dkim = account.transport === 'smtp' ? await loadDkimFor(db, account, cipher) : undefined;
  return transportForAccount(account, cipher, { ...options, ...(dkim ? { dkim } : {}) });
}
