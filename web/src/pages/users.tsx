// Not built yet: replaced by the page itself.
import { PageHeader } from '../components/ui';

export function UsersPage() {
  return <PageHeader title="UsersPage" />;
}
