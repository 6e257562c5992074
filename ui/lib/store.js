// What every page needs to know about the signed-in user and the live event bus.
//
// `session.me` is {user, role} (whoami); `session.projectRoles` maps each project the user sees
// to their role in it (project.list: `admin` for administrators). The UI only hides what a role
// cannot use: the server decides every call.
//
// `live` subscribes the shared API WebSocket to events.subscribe whenever it (re)opens and lets
// pages listen to event types; `live.connected` drives the ● live marker in the navigation bar.

import { api } from './api.js';

const ROLE_RANK = { viewer: 1, operator: 2, admin: 3 };

export const session = {
    me: null,
    projectRoles: {},
    listeners: new Set(),

    set(me) {
        this.me = me;
        this.projectRoles = {};
        this.changed();
    },

    async loadProjects() {
        if (!this.me) return;
        try {
            const { projects } = await api.call('project.list', {});
            this.projectRoles = Object.fromEntries(projects.map((p) => [p.name, p.role]));
            this.changed();
        } catch {
            // A page that needs the projects shows the error itself.
        }
    },

    get isAdmin() {
        return this.me?.role === 'admin';
    },

    // May the user act at `level` (operator, viewer) in `project`? Administrators always may;
    // others by their role in the project (capped by their own role on the server).
    can(level, project) {
        if (!this.me) return false;
        if (this.isAdmin) return true;
        if (level === 'admin') return false;
        const role = project === undefined ? this.me.role : this.projectRoles[project];
        return (ROLE_RANK[role] || 0) >= ROLE_RANK[level];
    },

    // Is the user an operator of at least one project (may create VMs, environments)?
    get operatesSomewhere() {
        return this.isAdmin || Object.values(this.projectRoles).includes('operator');
    },

    on(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    },

    changed() {
        for (const fn of this.listeners) fn();
    },
};

export const live = {
    connected: false,
    listeners: new Set(),

    async subscribe() {
        try {
            await api.call('events.subscribe', {});
            this.setConnected(true);
        } catch {
            this.setConnected(false);
        }
    },

    setConnected(on) {
        this.connected = on;
        for (const fn of this.listeners) fn(on);
    },

    onStatus(fn) {
        this.listeners.add(fn);
        return () => this.listeners.delete(fn);
    },

    // Calls fn(data, type) for each event of the given types; returns the unsubscribe function.
    on(types, fn) {
        const offs = types.map((t) => api.on(`event:${t}`, (data) => fn(data, t)));
        return () => offs.forEach((off) => off());
    },
};

api.on('open', () => live.subscribe());
api.on('close', () => live.setConnected(false));
// Membership and role changes change what the user may do: reload the project roles.
api.on('event:project.member', () => session.loadProjects());
