// A real OpenID provider for the single sign-on tests: panva's `oidc-provider` with its
// development login and consent pages (any password is accepted). Usage:
//   node provider.mjs <oidc-provider package directory> <port> <redirect uri> <client secret>
// (the package is installed by .ci/run under target/npm-oidc). It prints "listening" once it
// serves. Accounts and their groups are fixed below.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [packageDir, port, redirectUri, clientSecret] = process.argv.slice(2);
const { default: Provider } = await import(pathToFileURL(join(packageDir, 'lib', 'index.js')).href);

const groups = {
  alice: ['switchyard-owners', 'staff'],
  bob: ['acme-billing'],
  vera: ['viewers'],
  eve: ['nobody'],
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'switchyard',
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
  scopes: ['openid', 'email', 'groups'],
  // The scopes' claims go into the ID token, where the gateway reads them.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  cookies: { keys: ['switchyard-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.test`, email_verified: true, groups: groups[id] ?? [] };
      },
    };
  },
});
provider.listen(Number(port), '127.0.0.1', () => console.log('listening'));
