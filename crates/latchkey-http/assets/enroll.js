// The enrolment page: redeems a one-time link (?org=…&token=…) by running a
// WebAuthn registration ceremony against the API. No dependencies, no inline
// code (the page's Content-Security-Policy forbids it).
(function () {
  'use strict';

  var params = new URLSearchParams(window.location.search);
  var org = params.get('org') || '';
  var token = params.get('token') || '';

  function $(id) { return document.getElementById(id); }

  function api(path) {
    return '/api/v1/organizations/' + encodeURIComponent(org) + path;
  }

  function say(text, isError) {
    var el = $('status');
    el.textContent = text;
    el.classList.toggle('error', !!isError);
  }

  // --- base64url <-> ArrayBuffer, for browsers without the WebAuthn L3 JSON helpers.

  function fromB64url(s) {
    var b64 = s.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) { b64 += '='; }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = fromB64url(json.challenge);
    o.user = Object.assign({}, json.user, { id: fromB64url(json.user.id) });
    o.excludeCredentials = (json.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: fromB64url(c.id) });
    });
    return o;
  }

  function registrationJSON(cred) {
    if (typeof cred.toJSON === 'function') {
      try { return cred.toJSON(); } catch (e) { /* fall through to the manual form */ }
    }
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        attestationObject: toB64url(r.attestationObject),
        transports: typeof r.getTransports === 'function' ? r.getTransports() : []
      }
    };
  }

  // --- API calls: errors carry the API's message.

  function request(method, path, body) {
    var init = { method: method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(api(path), init).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var msg = data && data.error && data.error.message;
          throw new Error(msg || ('The server answered ' + res.status + '.'));
        }
        return data;
      });
    });
  }

  function browserError(e) {
    if (e && e.name === 'NotAllowedError') {
      return 'The passkey prompt was closed or timed out. Try again when you are ready.';
    }
    if (e && e.name === 'InvalidStateError') {
      return 'This authenticator already holds a passkey for your account.';
    }
    return (e && e.message) || 'Something went wrong.';
  }

  function showDone(cred) {
    $('enroll').hidden = true;
    $('done').hidden = false;
    say('');
    var name = cred.name ? '“' + cred.name + '”' : 'Your passkey';
    if (cred.backupState) {
      $('done-detail').textContent = name + ' is a synced passkey: it is backed up by your ' +
        'passkey provider and available on your other devices signed in to it.';
      $('done-advice').textContent = 'You may still add a second passkey, for example a ' +
        'security key, in case you lose access to your provider.';
    } else {
      $('done-detail').textContent = name + ' is bound to this device or security key and ' +
        'is not backed up.';
      $('done-advice').textContent = 'We strongly recommend adding a second passkey on ' +
        'another device, so losing this one does not lock you out.';
    }
  }

  function enroll(event) {
    event.preventDefault();
    var button = $('create');
    button.disabled = true;
    say('Starting…');
    request('POST', '/webauthn/register/init', { invitationToken: token })
      .then(function (start) {
        say('Follow your browser’s prompt to create the passkey…');
        return navigator.credentials
          .create({ publicKey: creationOptions(start.publicKey) })
          .then(function (cred) {
            say('Saving your passkey…');
            var name = $('name').value.trim();
            var body = { ceremonyId: start.ceremonyId, credential: registrationJSON(cred) };
            if (name) { body.name = name; }
            return request('POST', '/webauthn/register/complete', body);
          });
      })
      .then(showDone)
      .catch(function (e) {
        say(browserError(e), true);
        button.disabled = false;
      });
  }

  function start() {
    if (!org || !token) {
      $('org').textContent = '';
      say('This enrolment link is incomplete. Open the full link you were sent.', true);
      return;
    }
    if (!window.PublicKeyCredential || !navigator.credentials) {
      $('org').textContent = '';
      say('This browser does not support passkeys. Open the link in an up-to-date browser.', true);
      return;
    }
    request('GET', '')
      .then(function (o) {
        $('org').textContent = 'for ' + o.name;
        $('enroll').hidden = false;
        $('enroll').addEventListener('submit', enroll);
      })
      .catch(function (e) {
        $('org').textContent = '';
        say(e.message, true);
      });
  }

  document.addEventListener('DOMContentLoaded', start);
}());
