# Evaluates NixOS modules without nixpkgs (none is available offline), for
#   nix-instantiate --eval --strict --json test/nixos/harness.nix --argstr modulesJson '[ "/abs/x.nix" ]' -A …
# It supplies `lib` (./lib.nix), `pkgs` and `utils` stand-ins, and declares the nixpkgs options the
# emitted modules and nix-module/nixca.nix touch, with the names, types and defaults documented in
# nix-notes §2 (nix.nix, ca.nix, caddy, harmonia in both generations). Namespaces marked _closed
# refuse an option that does not exist there, as NixOS does.
{
  # JSON list of absolute module file paths.
  modulesJson,
  # JSON attribute set merged in as one more module. A string "<path-literal>/abs/file" becomes the
  # Nix path literal /abs/file (to test what a module does with a path literal).
  configJson ? "{}",
  # Which generation of nixpkgs' harmonia module to declare: flat (≤ 25.11) or cache (after).
  harmonia ? "flat",
}:
let
  lib = import ./lib.nix;
  inherit (lib) mkOption types;
  inherit (builtins) isAttrs isList isPath isString mapAttrs substring stringLength;

  marker = "<path-literal>";
  decodePaths = v:
    if isString v && substring 0 (stringLength marker) v == marker then /. + substring (stringLength marker) (stringLength v) v
    else if isList v then map decodePaths v
    else if isAttrs v then mapAttrs (_: decodePaths) v
    else v;

  fakeDrv = name: { type = "derivation"; inherit name; outPath = "/nix/store/00000000000000000000000000000000-${name}"; };

  pkgs = {
    formats.json = { }: {
      type = types.attrsOf types.anything;
      generate = name: value: builtins.toFile name (builtins.toJSON value);
    };
    nixca = fakeDrv "nixca-0.1.0";
    caddy = fakeDrv "caddy-2.6.2";
    harmonia = fakeDrv "harmonia-2.0.0";
  };

  # nixos/lib/utils.nix, verbatim in behaviour: JSON-quote, then escape systemd's % and $.
  utils = rec {
    escapeSystemdExecArg = arg:
      let
        s = if isPath arg then "${arg}"
          else if isString arg then arg
          else if builtins.isInt arg || (isAttrs arg && arg ? outPath) then toString arg
          else throw "escapeSystemdExecArg only allows strings, paths, numbers and derivations";
      in builtins.replaceStrings [ "%" "$" ] [ "%%" "$$" ] (builtins.toJSON s);
    escapeSystemdExecArgs = args: builtins.concatStringsSep " " (map escapeSystemdExecArg args);
  };

  opt = type: default: mkOption { inherit type default; };
  harmoniaCacheOptions = {
    _closed = true;
    enable = opt types.bool false;
    signKeyPath = opt (types.nullOr types.path) null;
    signKeyPaths = opt (types.listOf types.path) [ ];
    settings = opt (types.attrsOf types.anything) { };
  };

  nixpkgsStandIn = {
    options = {
      assertions = opt (types.listOf types.anything) [ ];
      warnings = opt (types.listOf types.str) [ ];
      security.pki = {
        _closed = true;
        certificateFiles = opt (types.listOf types.path) [ ];
        certificates = opt (types.listOf types.str) [ ];
        caCertificateBlacklist = opt (types.listOf types.str) [ ];
        useCompatibleBundle = opt types.bool false;
        installCACerts = opt types.bool true;
      };
      environment.etc = { _attrsOf = true; };
      environment.systemPackages = opt (types.listOf types.package) [ ];
      # nix.settings is a freeform submodule: only these are declared (typed) in nixpkgs.
      nix.settings = {
        substituters = opt (types.listOf types.str) [ ];
        trusted-public-keys = opt (types.listOf types.str) [ ];
        trusted-substituters = opt (types.listOf types.str) [ ];
        require-sigs = opt types.bool true;
      };
      networking.firewall.allowedTCPPorts = opt (types.listOf types.port) [ ];
      services.caddy = {
        _closed = true;
        enable = opt types.bool false;
        package = opt types.package pkgs.caddy;
        acmeCA = opt (types.nullOr types.str) null;
        adapter = opt (types.nullOr types.str) null;
        configFile = opt types.path "/etc/caddy/caddy_config";
        dataDir = opt types.path "/var/lib/caddy";
        email = opt (types.nullOr types.str) null;
        enableReload = opt types.bool true;
        environmentFile = opt (types.nullOr types.path) null;
        extraConfig = opt types.lines "";
        globalConfig = opt types.lines "";
        group = opt types.str "caddy";
        httpPort = opt types.port 80;
        httpsPort = opt types.port 443;
        logDir = opt types.path "/var/log/caddy";
        logFormat = opt types.lines "";
        openFirewall = opt types.bool false;
        resume = opt types.bool false;
        settings = opt (types.attrsOf types.anything) { };
        user = opt types.str "caddy";
        virtualHosts = { _attrsOf = true; };
      };
      services.harmonia =
        if harmonia == "flat" then harmoniaCacheOptions // { package = opt types.package pkgs.harmonia; }
        else {
          _closed = true;
          package = opt types.package pkgs.harmonia;
          cache = harmoniaCacheOptions;
          daemon = {
            _closed = true;
            enable = opt types.bool false;
            dbPath = opt types.str "/nix/var/nix/db/db.sqlite";
            logLevel = opt types.str "info";
            socketPath = opt types.str "/run/harmonia-daemon/socket";
            storeDir = opt types.str "/nix/store";
          };
        };
      systemd.services = { _attrsOf = true; };
      users.users = { _attrsOf = true; };
      users.groups = { _attrsOf = true; };
    };
    config = {
      # nixpkgs nix.nix: cache.nixos.org is added after everything else (mkAfter), its key plainly.
      nix.settings.substituters = lib.mkAfter [ "https://cache.nixos.org/" ];
      nix.settings.trusted-public-keys = [ "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=" ];
      # nixpkgs harmonia module: its settings defaults are mkDefault.
      services.harmonia = let defaults = { settings = mapAttrs (_: lib.mkDefault) { bind = "[::]:5000"; workers = 4; max_connection_rate = 256; priority = 50; }; };
        in if harmonia == "flat" then defaults else { cache = defaults; };
    };
  };

  result = lib.evalModules {
    modules = [ nixpkgsStandIn ] ++ map (p: /. + p) (builtins.fromJSON modulesJson) ++ [
      { config = decodePaths (builtins.fromJSON configJson); }
      # The package nix-module/nixca.nix needs; elsewhere an unread freeform value.
      { config.services.nixca.package = lib.mkDefault pkgs.nixca; }
    ];
    args = { inherit pkgs utils; };
  };

  # For JSON output: a path literal shows as "<path-literal>/abs/file" (never copied to the store),
  # so a test can tell a runtime string from a path literal.
  show = v:
    if isPath v then marker + toString v
    else if isList v then map show v
    else if isAttrs v && v ? outPath then toString v
    else if isAttrs v then mapAttrs (_: show) v
    else v;
in
{
  inherit (result) config;
  inherit show;
  files = result.files;
  failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) result.config.assertions);
}
