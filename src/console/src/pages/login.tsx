/** Sign-in, and on a fresh install the first-run path: how to create the owner. */
import { useEffect, useState } from 'preact/hooks';
import { login } from '../session';
import { Button, ErrorBanner, Field } from '../components/ui';

interface SetupState {
  ownerExists: boolean;
  command: string;
}

export function LoginPage() {
  const [setup, setSetup] = useState<SetupState | null>(null);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    void fetch('/api/setup')
      .then((r) => (r.ok ? (r.json() as Promise<SetupState>) : null))
      .then(setSetup)
      .catch(() => setSetup(null));
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setError(await login(email.trim(), password));
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <h1>Outreach console</h1>
      {setup && !setup.ownerExists && (
        <section class="first-run" aria-labelledby="first-run-title">
          <h2 id="first-run-title">First run: create the owner</h2>
          <p>No owner account exists yet. While the server runs, create one from the project folder:</p>
          <pre>
            <code>{setup.command}</code>
          </pre>
          <p>It prints a generated password (or pass <code>--password</code>). Then sign in below.</p>
        </section>
      )}
      <form onSubmit={submit} aria-label="Sign in">
        <Field label="Email" id="login-email">
          <input id="login-email" type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <Field label="Password" id="login-password">
          <input id="login-password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        {error && <ErrorBanner error={new Error(error)} />}
        <Button type="submit" kind="primary" busy={busy}>
          Sign in
        </Button>
      </form>
    </main>
  );
}
