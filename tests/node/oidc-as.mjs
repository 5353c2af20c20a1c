// An AuthKit-like authorization server on loopback, built on oidc-provider:
// AuthKit's /oauth2/* paths, open DCR and Client ID Metadata Documents, PKCE S256
// required, RFC 8707 resource indicators giving RS256 JWT access tokens whose
// aud is the resource, rotating refresh tokens, iss in authorization responses.
//
// Environment:
//   PORT=0                      listen port (0 picks a free one)
//   INTERACTION=auto|forms      auto: a fixed user is signed in and consents at once,
//                               so a client that follows redirects with a cookie jar
//                               reaches its redirect URI; forms: oidc-provider's HTML
//                               login and consent forms (devInteractions)
//   RESOURCE_SCOPES             scopes a resource server may be granted (space separated)
//   EXTRA_RESOURCE_PATH         (optional) an authorization request for resource R also asks for
//                               R's origin + this path, as an AS whose one login covers several
//                               APIs: a refresh may then ask for a token for that other resource
//                               (RFC 8707 §2.2)
//   JWKS_PATH                   (optional) where the JWKS is served (default /oauth2/jwks, AuthKit's);
//                               clients and servers must read it from jwks_uri
//   ACCESS_TOKEN_FORMAT         (optional) jwt (default) or opaque: opaque access tokens, which
//                               a client learns about only by introspection (RFC 7662; a public
//                               client may introspect its own tokens)
//   FIXED_AUDIENCE              (optional) every access token's aud is this string, whatever
//                               resource was asked for (an AS that ignores the resource indicator,
//                               like AuthKit without the MCP Resource Indicator)
//   CLIENTS                     (optional) JSON array of pre-registered client metadata (oidc-provider's
//                               `clients`), e.g. confidential clients with grant_types ["client_credentials"]
//                               and client_secret_basic or private_key_jwt (with their public `jwks`). When
//                               set, the client credentials grant and private_key_jwt are on as well
//                               (off by default: the metadata stays as it was)
//   JWT_BEARER_ISSUER           (optional, with JWT_BEARER_JWKS, a JSON JWKS) the JWT bearer grant
//                               (RFC 7523 §2.1) for workload identity federation: an assertion signed by
//                               that issuer's keys with aud = this AS's issuer is traded for an access
//                               token for the resource asked (a client in CLIENTS must allow the grant);
//                               a wrong aud, an expired or a forged assertion is invalid_grant
//   DEVICE_FLOW=1               (optional) the device authorization grant (RFC 8628): device_authorization_endpoint
//                               /device/auth, the verification page /device (off by default). DPoP (RFC 9449)
//                               is oidc-provider's default: a token request with a proof gets a DPoP-bound token
// Prints one JSON line when ready: {"ready":true,"issuer":...,"port":...}
import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { createLocalJWKSet, jwtVerify } from 'jose';

const interactionMode = process.env.INTERACTION || 'auto';
const resourceScopes = process.env.RESOURCE_SCOPES || 'mcp:tools mcp:admin';
const extraResourcePath = process.env.EXTRA_RESOURCE_PATH || '';
const fixedAudience = process.env.FIXED_AUDIENCE || '';
const staticClients = process.env.CLIENTS ? JSON.parse(process.env.CLIENTS) : null;
const USER = { sub: 'user_01TESTUSER', email: 'dev@example.test', email_verified: true, name: 'Test User' };

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `test-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  routes: {
    authorization: '/oauth2/authorize',
    token: '/oauth2/token',
    registration: '/oauth2/register',
    jwks: process.env.JWKS_PATH || '/oauth2/jwks',
    revocation: '/oauth2/revoke',
    introspection: '/oauth2/introspection',
    userinfo: '/oauth2/userinfo',
    end_session: '/oauth2/logout',
  },
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  scopes: ['openid', 'offline_access', 'profile', 'email', ...resourceScopes.split(' ')],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  clientAuthMethods: ['none', 'client_secret_post', 'client_secret_basic', ...(staticClients ? ['private_key_jwt'] : [])],
  ...(staticClients ? { clients: staticClients } : {}),
  pkce: { required: () => true },
  clientBasedCORS: () => true,
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token'),
  // Any login is accepted (devInteractions' form takes "any login"); auto mode uses USER.sub.
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return { ...USER, sub: id }; } };
  },
  features: {
    devInteractions: { enabled: interactionMode === 'forms' },
    registration: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    deviceFlow: { enabled: process.env.DEVICE_FLOW === '1' },
    clientCredentials: { enabled: Boolean(staticClients) },
    clientIdMetadataDocument: { enabled: true, ack: 'draft-02' },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => ({
        scope: resourceScopes,
        audience: fixedAudience || resourceIndicator,
        accessTokenTTL: 3600,
        accessTokenFormat: process.env.ACCESS_TOKEN_FORMAT || 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 3600, AuthorizationCode: 60, RefreshToken: 86400, Grant: 86400, Interaction: 600, Session: 3600 },
});

if (extraResourcePath) {
  provider.use(async (ctx, next) => {
    const { resource } = ctx.query;
    if (ctx.path === '/oauth2/authorize' && ctx.method === 'GET' && typeof resource === 'string') {
      const other = new URL(extraResourcePath, resource).href;
      ctx.querystring = `${ctx.querystring}&resource=${encodeURIComponent(other)}`;
    }
    return next();
  });
}

if (interactionMode === 'auto') {
  // The test user signs in and consents to everything asked, at once.
  provider.use(async (ctx, next) => {
    const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
    if (!match || ctx.method !== 'GET') return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params, session } = details;
    let result;
    if (prompt.name === 'login') {
      result = { login: { accountId: USER.sub } };
    } else {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    }
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.redirect(redirectTo);
  });
}

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
if (process.env.JWT_BEARER_ISSUER && process.env.JWT_BEARER_JWKS) {
  const trusted = createLocalJWKSet(JSON.parse(process.env.JWT_BEARER_JWKS));
  provider.registerGrantType(JWT_BEARER, async (ctx) => {
    const { assertion, resource, scope } = ctx.oidc.params;
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, trusted, { issuer: process.env.JWT_BEARER_ISSUER, audience: issuer }));
    } catch (err) {
      throw new errors.InvalidGrant(`assertion refused: ${err.code || err.message}`);
    }
    const token = new provider.ClientCredentials({ client: ctx.oidc.client, scope: scope || undefined, extra: { workload: payload.sub } });
    if (typeof resource === 'string') {
      token.resourceServer = new provider.ResourceServer(resource, {
        scope: resourceScopes, audience: resource, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } },
      });
      token.scope = (scope || '').split(' ').filter((s) => resourceScopes.split(' ').includes(s)).join(' ') || undefined;
    }
    ctx.body = { access_token: await token.save(), token_type: 'Bearer', expires_in: token.expiration, ...(token.scope ? { scope: token.scope } : {}) };
  }, ['assertion', 'scope', 'resource']);
}

provider.on('server_error', (ctx, err) => console.error('server_error', err));
server.on('request', provider.callback());
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.stdout.write(`${JSON.stringify({ ready: true, issuer, port })}\n`);
