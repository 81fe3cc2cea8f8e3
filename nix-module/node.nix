# The cache-node module behind every nodes/<node>.nix that `nixca nixos emit` writes (it copies
# this file next to them as nixca-node.nix). A node file is data only:
#   import ../nixca-node.nix { name = "nuc-1"; hosts = [ … ]; signKeyPaths = [ … ]; … }
# and this function turns it into NixOS configuration that composes with the machine's own:
#   - Harmonia's option names are chosen from the declarations (`options.services.harmonia ? cache`),
#     so the same file is right, without rename warnings, before and after nixpkgs moved them;
#   - only options whose definitions merge (lists, lines, attribute sets) or values at mkDefault,
#     so a machine's own environmentFile, virtual hosts or firewall ports never conflict;
#   - each cache name is its own services.caddy.virtualHosts entry, so a machine may add lines to it;
#   - reverse_proxy dials whatever Harmonia's evaluated settings.bind is (Harmonia's default if unset);
#   - no secret is read at evaluation time: every secret is a runtime path (strings, never path
#     literals, which would be copied into the world-readable store).
node:
{ config, options, lib, ... }:
let
  inherit (lib) mkDefault mkIf mkMerge mkOption types;
  cfg = config.nixca.node;
  caddy = config.services.caddy;

  # nixpkgs after 25.11: services.harmonia.cache.{enable,signKeyPaths,settings} (+ daemon.*), the
  # flat names only as renamed aliases that warn on every evaluation. Decided from the option
  # declarations, which never depend on config (no infinite recursion).
  harmoniaNested = options.services.harmonia ? cache;
  harmonia = if harmoniaNested then config.services.harmonia.cache else config.services.harmonia;
  harmoniaOptions = if harmoniaNested then options.services.harmonia.cache else options.services.harmonia;

  # Harmonia's bind ("[::]:5000", "127.0.0.1:5001", "unix:/run/harmonia/socket") as a Caddy
  # upstream: a wildcard address is dialled on loopback, a unix socket as unix//path.
  upstreamOf = bind:
    let
      port = builtins.match "(\\[::]|0\\.0\\.0\\.0|\\*)?:([0-9]+)" bind;
    in
    if lib.hasPrefix "unix:" bind then "unix/" + lib.removePrefix "//" (lib.removePrefix "unix:" bind)
    else if port != null then (if builtins.head port == "0.0.0.0" then "127.0.0.1" else "[::1]") + ":" + builtins.elemAt port 1
    else bind;
  # Only the nested module gives settings a bind (mkDefault "[::]:5000", when the cache is enabled);
  # the flat one (<= 25.11) declares settings with `default = { }` and leaves an unset bind to
  # Harmonia, whose own default is "[::]:5000" (harmonia-cache/src/config.rs).
  upstream = upstreamOf (harmonia.settings.bind or "[::]:5000");

  # HTTP/3 is on by default in Caddy 2.6+ (QUIC on the HTTPS port, UDP); off only when the global
  # `servers { protocols … }` leaves out h3.
  protocolLines = builtins.filter (l: builtins.match "[[:space:]]*protocols([[:space:]].*)?" l != null) (lib.splitString "\n" caddy.globalConfig);
  servesHttp3 = protocolLines == [ ] || builtins.any (lib.hasInfix "h3") protocolLines;

  # What this node must have at run time (secrets.nix): { id, path, kind, … } for each secret.
  secrets = (import node.secretsFile).nodes.${node.name};
  secretFiles = map (s: { inherit (s) id path; }) secrets;

  # Retiring keys that should keep signing during a rotation ("overlap"). Harmonia loads its keys
  # with LoadCredential=, which fails the whole unit when one file is missing; so these never go
  # through signKeyPaths. A root oneshot copies the ones that exist into a directory loaded as
  # one credential directory, and hands Harmonia the resulting SIGN_KEY_PATHS in an environment
  # file (EnvironmentFile= overrides Environment=). A missing retiring key is skipped with a
  # log line; the active keys (signKeyPaths) are unaffected.
  overlapDir = "/run/nixca-harmonia-keys";
  credentialsDir = "/run/credentials/harmonia.service";
  activeCount = builtins.length (harmonia.signKeyPaths or [ ]) + (if (harmonia.signKeyPath or null) != null then 1 else 0);
  activeCredentials = lib.genList (i: "${credentialsDir}/sign-key-${toString i}") activeCount;
  stageOverlap = ''
    set -eu
    rm -rf ${overlapDir} ${overlapDir}.env
    mkdir -m 0700 ${overlapDir}
    paths=${lib.escapeShellArg (lib.concatStringsSep " " activeCredentials)}
    i=0
    for key in ${lib.escapeShellArgs node.overlapKeyPaths}; do
      i=$((i + 1))
      if [ -r "$key" ]; then
        install -m 0400 "$key" "${overlapDir}/key-$i"
        paths="$paths ${credentialsDir}/nixca-overlap_key-$i"
      else
        echo "nixca: retiring signing key $key is missing; Harmonia signs with the active key(s) only" >&2
      fi
    done
    printf 'SIGN_KEY_PATHS=%s\n' "$paths" > ${overlapDir}.env
  '';

  site = ''
    tls {
      issuer acme {
        dir ${node.acmeDirectory}
        trusted_roots ${node.trustedRoots}
        eab {$NIXCA_EAB_KEY_ID} {$NIXCA_EAB_MAC_KEY}
      }
    }
    reverse_proxy ${upstream}
  '';

  harmoniaConfig = {
    enable = mkDefault true;
  } // lib.optionalAttrs (harmoniaOptions ? signKeyPaths) {
    # Lists merge: a machine's own keys are added, not replaced. Defined only where declared
    # (optionalAttrs, not mkIf, which still needs the option to exist): a definition of an
    # undeclared option fails the whole evaluation before the assertion below could explain it.
    signKeyPaths = node.signKeyPaths;
  };
in
{
  imports = [ node.trustModule ];

  options.nixca.node = {
    openFirewall = mkOption {
      type = types.bool;
      default = true;
      description = "Open Caddy's HTTP and HTTPS ports (TCP, and UDP for HTTP/3 when Caddy serves it): 80 for http-01 (RFC 8555 §8.3), the HTTPS port for clients and tls-alpn-01 (RFC 8737).";
    };
    secrets = {
      backend = mkOption {
        type = types.enum [ "none" "agenix" "sops-nix" ];
        default = "none";
        description = ''
          Who puts this node's secrets (secrets.nix: the EAB environment file and the signing keys)
          at their runtime paths. "none": you do. "agenix": age.secrets.<id> from <agenixDir>/<id>.age.
          "sops-nix": sops.secrets.<id> from sopsFile (key <id>). With a backend, a key rotation
          needs no edit here: re-emit, and encrypt the new key under the id secrets.json names.
        '';
      };
      agenixDir = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "Directory holding <id>.age for each secret of this node (backend agenix).";
      };
      sopsFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "The sops file holding a key <id> for each secret of this node (backend sops-nix).";
      };
    };
  };

  config = mkMerge [
    {
      assertions = [
        {
          assertion = harmoniaOptions ? signKeyPaths;
          message = "nixca: this nixpkgs' Harmonia module has no signKeyPaths (multi-key signing, NixOS 24.11 and later); the node module needs it.";
        }
        {
          assertion = cfg.secrets.backend != "agenix" || (options ? age && cfg.secrets.agenixDir != null);
          message = "nixca.node.secrets.backend = \"agenix\" needs agenix's NixOS module imported and nixca.node.secrets.agenixDir set.";
        }
        {
          assertion = cfg.secrets.backend != "sops-nix" || (options ? sops && cfg.secrets.sopsFile != null);
          message = "nixca.node.secrets.backend = \"sops-nix\" needs sops-nix's NixOS module imported and nixca.node.secrets.sopsFile set.";
        }
      ];

      # A cache never substitutes from itself.
      nixca.trust.excludeNodes = [ node.name ];

      services.harmonia = if harmoniaNested then { cache = harmoniaConfig; } else harmoniaConfig;

    }

    # A node that owns only DNS suffixes has no name to serve: no Caddy site.
    (mkIf (node.hosts != [ ]) {
      # nixpkgs' Caddy module: `configFile = if cfg.settings != { } then settingsFormat.generate
      # "caddy.json" cfg.settings else <the Caddyfile from globalConfig, extraConfig, virtualHosts>`.
      assertions = [{
        assertion = (caddy.settings or { }) == { };
        message = "nixca: services.caddy.settings is set, so nixpkgs' Caddy module serves only that JSON and ignores services.caddy.virtualHosts, where nixca's sites (${lib.concatStringsSep ", " node.hosts}) are: they would silently not be served. Configure Caddy through virtualHosts/globalConfig/extraConfig instead.";
      }];

      services.caddy = {
        enable = mkDefault true;
        virtualHosts = lib.genAttrs node.hosts (_: { extraConfig = site; });
      };

      systemd.services.caddy = {
        # The EAB credential as {$NIXCA_EAB_KEY_ID}/{$NIXCA_EAB_MAC_KEY}: a list, merged with the
        # caddy module's own (services.caddy.environmentFile stays free for the machine).
        serviceConfig.EnvironmentFile = [ node.eabEnvFile ];
        # Caddy reads trusted_roots when it loads its config; a new root must reach it.
        restartTriggers = [ node.rootFile ];
      };

      networking.firewall = mkIf cfg.openFirewall {
        allowedTCPPorts = builtins.filter (p: p != null) [ caddy.httpPort caddy.httpsPort ];
        allowedUDPPorts = lib.optional (servesHttp3 && caddy.httpsPort != null) caddy.httpsPort;
      };
    })

    (mkIf (node.overlapKeyPaths != [ ]) {
      systemd.services.nixca-harmonia-keys = {
        description = "Stage nixca's retiring Harmonia signing keys (missing ones are skipped)";
        before = [ "harmonia.service" ];
        # Restarting Harmonia re-stages the keys.
        partOf = [ "harmonia.service" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          UMask = "0077";
        };
        script = stageOverlap;
      };
      systemd.services.harmonia = {
        wants = [ "nixca-harmonia-keys.service" ];
        after = [ "nixca-harmonia-keys.service" ];
        serviceConfig.LoadCredential = [ "nixca-overlap:${overlapDir}" ];
        # A LoadCredential= path that does not exist fails the unit, unless a SetCredential= of the
        # same id is its default (systemd.exec(5)): when staging failed before making the
        # directory, Harmonia gets this unused placeholder instead and still starts.
        serviceConfig.SetCredential = [ "nixca-overlap:none" ];
        # "-": a missing file is skipped (systemd.exec(5), EnvironmentFile=), so when the staging
        # unit failed (it is only wanted) Harmonia still starts, with the unit's own SIGN_KEY_PATHS.
        serviceConfig.EnvironmentFile = [ "-${overlapDir}.env" ];
      };
    })

    (lib.optionalAttrs (options ? age) {
      age.secrets = mkIf (cfg.secrets.backend == "agenix") (lib.listToAttrs (map
        (s: lib.nameValuePair s.id {
          file = cfg.secrets.agenixDir + "/${s.id}.age";
          inherit (s) path;
          mode = "0400";
        })
        secretFiles));
    })

    (lib.optionalAttrs (options ? sops) {
      sops.secrets = mkIf (cfg.secrets.backend == "sops-nix") (lib.listToAttrs (map
        (s: lib.nameValuePair s.id {
          inherit (cfg.secrets) sopsFile;
          inherit (s) path;
          mode = "0400";
        })
        secretFiles));
    })
  ];
}
